#!/usr/bin/env python
"""The benchmark half of `tools/gpu_check.sh`: extraction and TopK training throughput on one device.

Extraction: bundled tiny.en and base (random:tiny with --dry-run) over the speech fixture repeated `--repeat` times,
capturing the middle encoder block's resid_post; one untimed pass first (CUDA start-up, kernel selection). Reported:
clips/s, encoder frames/s (1500 a clip: Whisper always encodes 30 s) and stored frames/s (the real ones).
Training: a TopK SAE (16 x d latents, k 32, batch 4096, Adam) on random activations at d 384 and 512, float32 and
bf16 autocast, timed after `--warmup` steps; peak GPU memory per run (torch.cuda.max_memory_allocated).

    python tools/bench_gpu.py                          # device: auto (cuda)
    python tools/bench_gpu.py --dry-run                # tiny sizes on the CPU, to check the script
    python tools/bench_gpu.py --tests results.jsonl    # fold the test results (one JSON object a line) into the output

The last line printed is one JSON object with everything.
"""
from __future__ import annotations
import argparse, json, platform, subprocess, sys, tempfile, time
from pathlib import Path


def _sync(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def bench_extract(spec:str, dev, repeat:int, batch_clips:int) -> dict:
    import torch
    from whisper_sae.whisper import load_whisper
    from whisper_sae.data import speech_fixture
    from whisper_sae.store import extract_store
    w = load_whisper(spec, device=dev)
    site = f'encoder.blocks.{w.config.encoder_layers // 2}.resid_post'
    utts = speech_fixture() * repeat
    with tempfile.TemporaryDirectory() as tmp:
        extract_store(w, utts[:batch_clips], [site], Path(tmp)/'warm', batch_clips=batch_clips, progress=False)
        _sync(dev); t0 = time.perf_counter()
        store = extract_store(w, utts, [site], Path(tmp)/'timed', batch_clips=batch_clips, progress=False)
        _sync(dev); s = time.perf_counter() - t0
        rows = store.source([site], 1).n_rows
    return dict(model=spec, site=site, clips=len(utts), seconds=round(s, 3), clips_per_s=round(len(utts) / s, 2),
                encoder_frames_per_s=round(len(utts) * 1500 / s), stored_frames_per_s=round(rows / s))


def bench_train(d:int, amp:str, dev, batch:int, k:int, warmup:int, steps:int) -> dict:
    import torch
    from whisper_sae.config import DictionaryConfig, TrainConfig
    from whisper_sae.training import Callback, TensorSource, Trainer

    class Clock(Callback):
        def after_step(self):
            if self.t.step == warmup: _sync(dev); self.t0 = time.perf_counter()
            if self.t.step == warmup + steps: _sync(dev); self.s = time.perf_counter() - self.t0

    g = torch.Generator().manual_seed(0)
    site = 'encoder.blocks.0.resid_post'
    data = {site: torch.randn(batch * 8, d, generator=g)}
    dcfg = DictionaryConfig(in_sites=[site], n_latents=16 * d, k=k)
    tcfg = TrainConfig(steps=warmup + steps, batch_size=batch, warmup_steps=min(10, warmup), amp=amp, init_batches=2,
                       log_every=warmup + steps, checkpoint_every=warmup + steps)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(TensorSource(data, batch, seed=0), dcfg, tcfg, tmp, callbacks=[clock], progress=False, device=dev).fit()
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == 'cuda' else None
    return dict(d=d, n_latents=16 * d, k=k, batch=batch, amp=amp, steps=steps, seconds=round(clock.s, 3),
                tokens_per_s=round(batch * steps / clock.s), peak_memory_mb=None if peak is None else round(peak, 1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dry-run', action='store_true', help='tiny sizes on the CPU (checks the script, measures nothing useful)')
    p.add_argument('--device', default=None, help='default: auto (cpu with --dry-run)')
    p.add_argument('--tests', default=None, help='a file of test results, one JSON object a line, folded into the output')
    a = p.parse_args(argv)
    import torch
    from whisper_sae.config import resolve_device
    dev = resolve_device(a.device or ('cpu' if a.dry_run else 'auto'), field_name='--device')
    out = dict(device=str(dev), device_name=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else platform.processor() or 'cpu',
               torch=torch.__version__, cuda=torch.version.cuda, dry_run=a.dry_run, commit=subprocess.run(
                   ['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip() or None)
    if a.tests:
        out['tests'] = [json.loads(l) for l in Path(a.tests).read_text().splitlines() if l.strip()]
        out['tests_passed'] = all(t.get('passed') for t in out['tests'])
    models = ['random:tiny'] if a.dry_run else ['bundled:tiny.en', 'bundled:base']
    out['extract'] = []
    for spec in models:
        try: r = bench_extract(spec, dev, repeat=1 if a.dry_run else 8, batch_clips=2 if a.dry_run else 16)
        except Exception as e: r = dict(model=spec, error=f'{type(e).__name__}: {e}'[:300])
        print(json.dumps(r), file=sys.stderr, flush=True)
        out['extract'].append(r)
    sizes = [(16, 'none'), (32, 'none')] if a.dry_run else [(384, 'none'), (384, 'bf16'), (512, 'none'), (512, 'bf16')]
    out['train'] = []
    for d, amp in sizes:
        try: r = bench_train(d, amp, dev, batch=256 if a.dry_run else 4096, k=4 if a.dry_run else 32,
                             warmup=2 if a.dry_run else 20, steps=4 if a.dry_run else 100)
        except Exception as e: r = dict(d=d, amp=amp, error=f'{type(e).__name__}: {e}'[:300])
        print(json.dumps(r), file=sys.stderr, flush=True)
        out['train'].append(r)
    print(json.dumps(out))
    return 0


if __name__ == '__main__': sys.exit(main())
