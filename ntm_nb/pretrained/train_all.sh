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
ntms() {
    python -m ntm_nb train copy               $T --steps 8000  --out $P/copy-ntm
    python -m ntm_nb train repeat_copy        $T --lr 2e-3 --steps 20000 --max-minutes 22 --out $P/repeat_copy-ntm
    python -m ntm_nb train associative_recall $T --steps 16000 --max-minutes 12 --out $P/associative_recall-ntm
    python -m ntm_nb train ngrams             $T --steps 16000 --max-minutes 95 --out $P/ngrams-ntm
    python -m ntm_nb train priority_sort      $T --steps 8000  --max-minutes 15 --out $P/priority_sort-ntm
}
lstms() {
    python -m ntm_nb train copy               --model lstm $T --steps 8000  --out $P/copy-lstm
    python -m ntm_nb train repeat_copy        --model lstm $T --steps 16000 --max-minutes 12 --out $P/repeat_copy-lstm
    python -m ntm_nb train associative_recall --model lstm $T --steps 16000 --out $P/associative_recall-lstm
    python -m ntm_nb train ngrams             --model lstm $T --steps 16000 --max-minutes 60 --out $P/ngrams-lstm
    python -m ntm_nb train priority_sort      --model lstm $T --steps 8000  --max-minutes 10 --out $P/priority_sort-lstm
}
ntms & lstms & wait
rm -f $P/*/train_state.safetensors  # resume state is not shipped
