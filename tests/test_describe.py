"""The text summaries notebooks print (ntm_nb.describe), checked against the trace."""

from __future__ import annotations

import pytest
import torch

from ntm_nb import NTM, NTMConfig, make_task, pretrained, save
from ntm_nb.checkpoint import load
from ntm_nb.describe import head_rows, head_table, model_summary


@pytest.fixture(scope="module")
def traced():
    torch.manual_seed(0)
    model = NTM(NTMConfig(9, 8, controller_size=8, num_read_heads=2, num_write_heads=1, N=8, M=4))
    x, _, _ = make_task("copy", min_len=3, max_len=3).sample(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        _, trace = model(x, return_trace=True)
    return model, trace


def test_head_rows_read_the_trace_read_heads_first(traced):
    _, trace = traced
    rows = head_rows(trace, 4)
    assert [r["head"] for r in rows] == ["read 1", "read 2", "write 1"]
    assert rows[1]["beta"] == pytest.approx(float(trace.beta[0, 4, 1]))
    assert rows[2]["focus"] == int(trace.w_write[0, 4, 0].argmax())
    assert rows[2]["weight"] == pytest.approx(float(trace.w_write[0, 4, 0].max()))
    assert rows[0]["s"] == pytest.approx(trace.s[0, 4, 0].tolist())
    assert [r["head"] for r in head_rows(trace, 4, heads=[2])] == ["write 1"]
    with pytest.raises(ValueError, match="heads: indices must lie in 0..2"):
        head_rows(trace, 4, heads=[3])
    with pytest.raises(ValueError, match="t: must lie in 0..6"):
        head_rows(trace, 7)


def test_head_table_has_a_line_per_step_and_head_with_its_label(traced):
    _, trace = traced
    text = head_table(trace, [0, 3], heads=[0, 2], labels={3: "delimiter"})
    lines = text.splitlines()
    assert len(lines) == 1 + 2 * 2
    assert lines[0].split()[:3] == ["t", "step", "head"] and "s(-1)" in lines[0]
    assert "delimiter" in lines[3] and "write 1" in lines[4]
    assert head_table(trace, [1]).splitlines()[0].split()[1] == "head"  # no label column


def test_model_summary_reads_the_record(traced, tmp_path):
    model, _ = traced
    bare = model_summary({"mine": model})
    assert bare == f"mine: {sum(p.numel() for p in model.parameters()):,} parameters"
    if ("copy", "ntm") in pretrained.available():
        shipped = pretrained.load("copy")
        text = model_summary({"NTM": shipped})
        record = shipped.checkpoint
        assert f"{record['step']:,} steps of {record['train_config']['batch_size']}" in text
        assert text.splitlines()[1].strip() == record["command"]
    save(model, tmp_path / "m", task=make_task("copy"), command="ntm-nb train copy")
    assert model_summary({"m": load(tmp_path / "m")}).splitlines()[1].strip() == "ntm-nb train copy"
