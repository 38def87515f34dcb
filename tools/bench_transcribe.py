#!/usr/bin/env python
"""Side-by-side CPU cost of `transcribe`: batches of 1 and 8, decoding on all intra-op threads or on one.

Runs `transcribe`'s loop (log-mel + encoder, then `decode_budgeted` with the default budgets) on every `--every`-th
clip of the offline corpus (the speech fixture when the corpus is not built) with bundled tiny.en, in one process,
alternating the four variants for `--rounds` rounds so load drift hits all alike. CPU seconds are the process's
(`time.process_time`: every thread's, spinning included). Prints one JSON object: per variant the round with the least
CPU time (encoder, decoding, total CPU seconds and wall seconds), all rounds, and whether every variant gave the same
transcripts. Run it with `OMP_WAIT_POLICY=PASSIVE` to see how much of the cost is threads spinning while they wait.

    nice -n 5 .venv/bin/python tools/bench_transcribe.py --every 37 --rounds 2
"""
from __future__ import annotations
import argparse, json, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clips(every:int) -> tuple[list, str]:
    "Every `every`-th clip of the offline corpus (or the whole speech fixture), as 16 kHz float32 arrays, and which."
    import soundfile as sf
    manifest = ROOT/'data'/'offline-corpus'/'manifest.tsv'
    which = 'offline corpus'
    if not manifest.exists(): manifest, every, which = ROOT/'data'/'speech-fixture'/'manifest.tsv', 1, 'speech fixture'
    rows = manifest.read_text().strip().split('\n')[::every]
    return [sf.read(manifest.parent/r.split('\t')[0], dtype='float32')[0] for r in rows], which


def timed(w, audios, batch_size:int, threads:int|None):
    "`transcribe`'s loop: CPU seconds in log-mel + encoder and in decoding, wall seconds, and the transcripts."
    import torch
    from whisper_sae.config import SAMPLE_RATE
    from whisper_sae.whisper import decode_budgeted, decoding_budget, log_mel
    enc_s = dec_s = 0.0; texts = []; t0 = time.perf_counter()
    for s in range(0, len(audios), batch_size):
        batch = audios[s:s + batch_size]
        c0 = time.process_time()
        with torch.inference_mode(): enc = w.model.model.encoder(log_mel(w, batch)).last_hidden_state
        c1 = time.process_time()
        texts += decode_budgeted(w, enc, [decoding_budget(w, len(a) / SAMPLE_RATE) for a in batch], threads=threads).texts
        enc_s, dec_s = enc_s + c1 - c0, dec_s + time.process_time() - c1
    return dict(encoder_cpu_s=enc_s, decoding_cpu_s=dec_s, cpu_s=enc_s + dec_s, wall_s=time.perf_counter() - t0), texts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--every', type=int, default=37, help="every n-th clip of the offline corpus")
    p.add_argument('--rounds', type=int, default=2)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import torch
    from whisper_sae.whisper import load_whisper
    audios, which = clips(args.every)
    w = load_whisper('bundled:tiny.en')
    timed(w, audios[:1], 1, None)  # warm-up
    variants = {(bs, th): [] for th in (None, 1) for bs in (1, 8)}
    texts = {}
    for _ in range(args.rounds):
        for (bs, th), runs in variants.items():
            r, texts[bs, th] = timed(w, audios, bs, th)
            runs.append(r)
    out = dict(clips=len(audios), source=which, audio_s=sum(len(a) for a in audios) / 16000, threads=torch.get_num_threads(),
               cores=os.cpu_count(), load=os.getloadavg()[0], omp_wait_policy=os.environ.get('OMP_WAIT_POLICY', ''),
               same_transcripts=len({tuple(t) for t in texts.values()}) == 1,
               variants=[dict(batch_size=bs, decoding_threads=th, best=min(runs, key=lambda r: r['cpu_s']), rounds=runs)
                         for (bs, th), runs in variants.items()])
    print(json.dumps(out))


if __name__ == '__main__': main()
