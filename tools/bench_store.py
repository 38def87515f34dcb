"""Benchmark the activation store: extraction throughput and training-stream read throughput / memory.

Prints one JSON line per measurement. Extraction uses the bundled tiny.en (needs the offline extra) on the
speech fixture (or --corpus); reading uses a synthetic store of --rows x --d (fp16) written with the real
shard writer, streamed by StoreSource with a bounded shuffle buffer, in a fresh process so peak RSS is its own.

    .venv/bin/python tools/bench_store.py [--corpus fixture] [--rows 1000000] [--d 384] [--buffer 262144] [--train-steps 60]

A third measurement trains a TopK SAE (3072 latents, k=32) for --train-steps steps directly from the synthetic store,
reporting the trainer's consumption rate and its peak RSS (store larger than the shuffle buffer).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path


def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024


def peak_rss_mb():
    "This process's own peak RSS (VmHWM: unlike ru_maxrss it is not inherited from the parent across fork + exec)."
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024


def bench_extract(corpus, sites, batch_clips):
    import torch
    from whisper_sae.whisper import load_whisper
    from whisper_sae.data import speech_fixture, read_manifest
    from whisper_sae.store import extract_store
    torch.set_num_threads(os.cpu_count())
    w = load_whisper('bundled:tiny.en')
    utts = speech_fixture() if corpus == 'fixture' else read_manifest(corpus)
    with tempfile.TemporaryDirectory() as d:
        t = time.time()
        store = extract_store(w, utts, sites, Path(d)/'s', batch_clips=batch_clips, progress=False)
        secs = time.time() - t
        ex = store.manifest['extraction']
        seconds_audio = sum(c['seconds'] for c in store.clips)
        print(json.dumps(dict(bench='extract', model='bundled:tiny.en', corpus=corpus, clips=len(utts), audio_seconds=round(seconds_audio, 1),
                              sites=sites, real_frames=ex['real_frames'], wall_s=round(secs, 2),
                              real_frames_per_s=round(ex['real_frames'] / secs, 1), audio_x_realtime=round(seconds_audio / secs, 2),
                              rows_stored=store.n_rows('encoder'))), flush=True)


def write_synthetic(folder, rows, d, shard):
    import torch
    from whisper_sae.store import _ShardWriter
    (folder/'shards').mkdir(parents=True)
    wr = _ShardWriter(folder, 'encoder', shard, 0, 0, 0)
    g = torch.Generator().manual_seed(0)
    site = 'encoder.blocks.2.resid_post'
    per_batch = 50_000
    for b, start in enumerate(range(0, rows, per_batch)):
        n = min(per_batch, rows - start)
        wr.add(b, {site: torch.randn(n, d, generator=g).half(), 'clip': torch.arange(start, start + n, dtype=torch.int32) // 200,
                   'position': torch.zeros(n, dtype=torch.int32), 'time': torch.zeros(n), 'is_padding': torch.zeros(n, dtype=torch.uint8),
                   'token': torch.zeros(n, dtype=torch.int32)})
    wr.flush((b + 1, 0))
    n_clips = (rows + 199) // 200
    manifest = dict(format=1, key='synthetic', model='none', sites=[site], dims={site: d}, dtype='float16',
                    streams={'encoder': dict(sites=[site], shards=[f'encoder-{i:05d}.safetensors' for i in range(len(wr.counts))], rows=wr.counts)},
                    clips=[dict(id=str(i)) for i in range(n_clips)], params={})
    (folder/'manifest.json').write_text(json.dumps(manifest))
    return site


def bench_train(folder, site, batch, buffer, steps):
    "Train a TopK SAE straight from the store: the trainer's consumption rate and peak RSS with a bounded buffer."
    import torch
    from whisper_sae.config import DictionaryConfig, TrainConfig
    from whisper_sae.store import ActivationStore
    from whisper_sae.training import train
    torch.set_num_threads(os.cpu_count())
    store = ActivationStore(folder)
    base = rss_mb()
    src = store.source([site], batch_size=batch, seed=0, shuffle_buffer=buffer)
    dc = DictionaryConfig(in_sites=[site], n_latents=3072, k=32)
    tc = TrainConfig(steps=steps, batch_size=batch, warmup_steps=1, log_every=max(1, steps // 2), checkpoint_every=10**9, shuffle_buffer=buffer)
    with tempfile.TemporaryDirectory() as out:
        t = time.time()
        train(src, dc, tc, Path(out)/'run', progress=False)
        secs = time.time() - t
    store_gb = store.n_rows('encoder') * store.dims[site] * 2 / 1e9
    print(json.dumps(dict(bench='train_from_store', rows=store.n_rows('encoder'), store_gb=round(store_gb, 3), steps=steps, batch=batch,
                          shuffle_buffer=buffer, buffer_mb=round(buffer * store.dims[site] * 2 / 1e6), frames_per_s=round(steps * batch / secs),
                          rss_before_mb=round(base), peak_rss_mb=round(peak_rss_mb()))), flush=True)


def bench_read(folder, site, batch, buffer, epochs):
    import torch
    from whisper_sae.store import ActivationStore
    torch.set_num_threads(1)
    store = ActivationStore(folder)
    base = rss_mb()
    src = store.source([site], batch_size=batch, seed=0, shuffle_buffer=buffer)
    it = iter(src)
    n = src.batches_per_epoch * epochs
    t = time.time()
    for _ in range(n): x = next(it)[site]
    secs = time.time() - t
    rows = n * batch
    bytes_read = rows * store.dims[site] * 2
    store_gb = store.n_rows('encoder') * store.dims[site] * 2 / 1e9
    print(json.dumps(dict(bench='read', rows=store.n_rows('encoder'), d=store.dims[site], store_gb=round(store_gb, 3), batch=batch,
                          shuffle_buffer=buffer, frames_per_s=round(rows / secs), gb_per_s=round(bytes_read / secs / 1e9, 3),
                          rss_before_mb=round(base), peak_rss_mb=round(peak_rss_mb()),
                          buffer_mb=round(buffer * store.dims[site] * 2 / 1e6))), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--corpus', default='fixture')
    p.add_argument('--sites', default='encoder.blocks.2.resid_post')
    p.add_argument('--batch-clips', type=int, default=8)
    p.add_argument('--rows', type=int, default=1_000_000)
    p.add_argument('--d', type=int, default=384)
    p.add_argument('--shard', type=int, default=65536)
    p.add_argument('--batch', type=int, default=4096)
    p.add_argument('--buffer', type=int, default=262144)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--skip-extract', action='store_true')
    p.add_argument('--train-steps', type=int, default=60, help='steps of the train-from-store measurement (0: skip)')
    p.add_argument('--_read', default=None, help=argparse.SUPPRESS)
    p.add_argument('--_train', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._train:
        return bench_train(Path(a._train), 'encoder.blocks.2.resid_post', a.batch, a.buffer, a.train_steps)
    if a._read:
        return bench_read(Path(a._read), 'encoder.blocks.2.resid_post', a.batch, a.buffer, a.epochs)
    if not a.skip_extract: bench_extract(a.corpus, a.sites.split(','), a.batch_clips)
    with tempfile.TemporaryDirectory() as d:
        write_synthetic(Path(d)/'s', a.rows, a.d, a.shard)
        subprocess.run([sys.executable, __file__, '--_read', str(Path(d)/'s'), '--batch', str(a.batch), '--buffer', str(a.buffer),
                        '--epochs', str(a.epochs)], check=True)
        if a.train_steps:
            subprocess.run([sys.executable, __file__, '--_train', str(Path(d)/'s'), '--batch', str(a.batch), '--buffer', str(a.buffer),
                            '--train-steps', str(a.train_steps)], check=True)


if __name__ == '__main__': main()
