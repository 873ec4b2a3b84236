#!/usr/bin/env bash
# Reproduces every shipped model in ntm_nb/pretrained/ with the package's own CLI.
# Two lanes run side by side, one CPU thread each (a 2-core machine): the NTMs, and the
# paper's 3-layer LSTM baselines. Runs stop at their step count or their time budget
# (--max-minutes), whichever comes first; each model's JSON records the steps and the
# sequences it actually used. Wall times are in ntm_nb/pretrained/README.md.
#   bash ntm_nb/pretrained/train_all.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/../.."
P=ntm_nb/pretrained
T="--seed 0 --threads 1 --no-progress --checkpoint-every 1000"
GPU=${GPU:-cuda}  # GPU=cpu bash ntm_nb/pretrained/train_all.sh where there is none
ntms() {
    python -m ntm_nb train copy               --seed 4 --threads 1 --no-progress --checkpoint-every 1000 --steps 8000 --out $P/copy-ntm  # best of seeds 0-4: README ³
    # the repeat-copy preset before 2026-12-03 (100 units, no curriculum): README
    python -m ntm_nb train repeat_copy        $T --lr 2e-3 --steps 20000 --max-minutes 22 --controller-size 100 --curriculum-steps 0 --out $P/repeat_copy-ntm
    python -m ntm_nb train associative_recall $T --steps 16000 --max-minutes 12 --out $P/associative_recall-ntm
    python -m ntm_nb train ngrams             $T --steps 32000 --out $P/ngrams-ntm
    python -m ntm_nb train ngrams --out $P/ngrams-ntm --resume --lr 1e-4 --steps 35000 --threads 1 --no-progress --checkpoint-every 1000
    # the paper's feed-forward NTM with a learned initial memory; its first 10,287 steps ran on a
    # lent GPU (11 minutes; about 3 hours on one CPU thread), the last 2,000 on one CPU thread
    python -m ntm_nb train priority_sort      --seed 0 --batch-size 128 --lr 1e-3 --controller feedforward --controller-size 512 --controller-layers 1 --read-heads 8 --write-heads 8 --memory-init learned --steps 10287 --device "$GPU" --threads 1 --no-progress --checkpoint-every 500 --out $P/priority_sort-ntm
    python -m ntm_nb train priority_sort --out $P/priority_sort-ntm --resume --lr 3e-4 --steps 12287 --unroll 2 --threads 1 --no-progress --checkpoint-every 250
}
lstms() {
    python -m ntm_nb train copy               --model lstm $T --steps 8000  --out $P/copy-lstm
    # these two were trained on a lent GPU (--device cuda; about 6.5 hours together on one CPU thread)
    python -m ntm_nb train repeat_copy        --model lstm --seed 0 --steps 40000 --device "$GPU" --threads 1 --no-progress --checkpoint-every 500 --out $P/repeat_copy-lstm
    python -m ntm_nb train associative_recall --model lstm $T --steps 16000 --out $P/associative_recall-lstm
    python -m ntm_nb train ngrams             --model lstm $T --steps 32000 --out $P/ngrams-lstm
    python -m ntm_nb train ngrams --out $P/ngrams-lstm --resume --lr 1e-4 --steps 35000 --threads 1 --no-progress --checkpoint-every 1000
    python -m ntm_nb train priority_sort      --model lstm --seed 0 --steps 77847 --device "$GPU" --threads 1 --no-progress --checkpoint-every 500 --out $P/priority_sort-lstm
}
ntms & lstms & wait
rm -f $P/*/train_state.safetensors  # resume state is not shipped
