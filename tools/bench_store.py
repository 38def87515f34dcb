"""Benchmark the activation store: extraction throughput and training-stream read throughput / memory.

Prints one JSON line per measurement. Extraction uses the bundled tiny.en (needs the offline extra) on the
speech fixture (or --corpus); reading uses a synthetic store of --rows x --d (fp16) written with the real
shard writer, streamed by StoreSource with a bounded shuffle buffer, in a fresh process so peak RSS is its own.

    .venv/bin/python tools/bench_store.py [--corpus fixture] [--rows 1000000] [--d 384] [--buffer 262144] [--train-steps 60]

A third measurement trains a TopK SAE (3072 latents, k=32) for --train-steps steps directly from the synthetic store,
reporting the trainer's consumption rate and its peak RSS (store larger than the shuffle buffer).

With --pack, it measures packing instead (issue 18), on the corpus, model, site and data settings of --config
(default: the main job, configs/tiny_default.yaml), side by side in one process, repeats interleaved:

    nice -n 10 .venv/bin/python tools/bench_store.py --pack --repeats 3 > tools/results/store_packing.jsonl

Three extractions per repeat: `unpacked` (today: a window per clip), `packed_all` (every clip packed) and `packed_train`
(what `data.pack: true` does in the pipeline: the training clips packed, the held-out clips alone). Each prints one line
with real-audio frames stored per second of wall time (the whole `extract_store` call: audio hashing, planning, decoding,
features, encoder, writing). A last line gives the medians, the speedups over `unpacked`, and how far packed frames are
from the same frames extracted alone (the packed clips of `packed_train`, row by row): relative error per frame and the
FVU of the packed frames as a "reconstruction" of the unpacked ones, overall and split into the clips that start their
window (frame 0) and those placed later; with --dictionary, the FVU of that dictionary
(e.g. the main job's) on the training frames of either store.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
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


def _pack_fidelity(flat, packed, site, clips):
    "Packed frames vs the same frames extracted alone, over `clips` (rows matched by clip and position); also split by where the clip sat."
    import numpy as np, torch
    cols = [site, 'clip', 'position', 'is_padding']
    a, b = flat.read(cols), packed.read(cols)
    sel = lambda t: torch.isin(t['clip'], torch.as_tensor(sorted(clips), dtype=t['clip'].dtype)) & (t['is_padding'] == 0)
    order = lambda t, m: torch.from_numpy(np.lexsort((t['position'][m].numpy(), t['clip'][m].numpy())))
    ma, mb = sel(a), sel(b)
    oa, ob = order(a, ma), order(b, mb)
    assert torch.equal(a['clip'][ma][oa], b['clip'][mb][ob]) and torch.equal(a['position'][ma][oa], b['position'][mb][ob])
    u, p = a[site][ma][oa].double(), b[site][mb][ob].double()
    first = torch.tensor([c.get('frame', 0) for c in packed.clips])[a['clip'][ma][oa].long()] == 0
    def stats(p, u):
        rel = ((p - u).norm(dim=1) / u.norm(dim=1)).numpy()
        cos = torch.nn.functional.cosine_similarity(p, u, dim=1).numpy()
        fvu = float(((p - u) ** 2).sum() / ((u - u.mean(0)) ** 2).sum())
        return dict(frames=len(rel), rel_err_median=round(float(np.median(rel)), 4), rel_err_p90=round(float(np.quantile(rel, 0.9)), 4),
                    rel_err_mean=round(float(rel.mean()), 4), cosine_median=round(float(np.median(cos)), 4), fvu_packed_vs_alone=round(fvu, 4))
    return stats(p, u) | dict(first_in_window=stats(p[first], u[first]), later_in_window=stats(p[~first], u[~first]))


def _dictionary_fvu(path, stores, site, clips):
    "FVU of a trained dictionary on the training frames of each store."
    from whisper_sae.dictionaries import load_dictionary
    from whisper_sae.evaluation import dictionary_splice, store_metrics
    d = load_dictionary(path, device='cpu')
    sp = dictionary_splice(d)
    return {name: round(store_metrics(st, sp.in_sites, sp.out_sites, sp.fn, d.encode_sites, d.n_latents, clips=clips)[0]['fvu'], 4)
            for name, st in stores.items()}


def bench_pack(config, repeats, dictionary=None):
    "Real-audio frames stored per second, unpacked vs packed, interleaved; then how close packed frames are to unpacked ones."
    import statistics, torch
    from whisper_sae.config import ExperimentConfig
    from whisper_sae.data import load_corpus, split_corpus
    from whisper_sae.whisper import load_whisper
    from whisper_sae.store import extract_store
    torch.set_num_threads(os.cpu_count())
    cfg = ExperimentConfig.load(config)
    d, site = cfg.data, cfg.dictionary.in_sites[0]
    w = load_whisper(cfg.model)
    utts = load_corpus(d)
    _, held = split_corpus(utts, d.heldout_fraction, d.split_seed)
    held_ids = {u.id for u in held}
    train = [i for i, u in enumerate(utts) if u.id not in held_ids]
    modes = {'unpacked': None, 'packed_all': list(range(len(utts))), 'packed_train': train}
    kw = dict(margin_frames=d.margin_frames, batch_clips=d.batch_clips, store_dtype=d.store_dtype, shard_frames=d.shard_frames, seed=d.split_seed,
              pack_gap_frames=d.pack_gap_frames, progress=False)
    runs, keep = {m: [] for m in modes}, {}
    with tempfile.TemporaryDirectory() as tmp:
        extract_store(w, utts[:d.batch_clips], [site], Path(tmp)/'warmup', **kw)  # first-call costs out of the timings
        for r in range(repeats):
            for mode in (list(modes) if r % 2 == 0 else list(modes)[::-1]):
                folder = Path(tmp)/f'{mode}-{r}'
                t = time.time()
                store = extract_store(w, utts, [site], folder, packed=modes[mode], **kw)
                secs = time.time() - t
                ex = store.manifest['extraction']
                row = dict(bench='pack', mode=mode, repeat=r, model=cfg.model.spec, corpus=d.corpus, site=site, clips=len(utts),
                           packed_clips=len(modes[mode] or []), windows=ex['windows'], real_frames=ex['real_frames'],
                           rows_stored=store.n_rows('encoder'), wall_s=round(secs, 2), real_frames_per_s=round(ex['real_frames'] / secs, 1),
                           pack_gap_frames=d.pack_gap_frames, load=round(os.getloadavg()[0], 2))
                runs[mode].append(row)
                print(json.dumps(row), flush=True)
                if r == repeats - 1: keep[mode] = store
                else: shutil.rmtree(folder)
        med = {m: statistics.median(x['real_frames_per_s'] for x in rs) for m, rs in runs.items()}
        packed_alone = [c for c in train if sum(1 for x in keep['packed_train'].clips if x['window'] == keep['packed_train'].clips[c]['window']) > 1]
        summary = dict(bench='pack_summary', repeats=repeats, torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
                       real_frames_per_s_median=med, windows={m: rs[0]['windows'] for m, rs in runs.items()},
                       speedup_packed_all=round(med['packed_all'] / med['unpacked'], 2), speedup_packed_train=round(med['packed_train'] / med['unpacked'], 2),
                       mean_clips_per_packed_window=round(len(utts) / runs['packed_all'][0]['windows'], 2),
                       fidelity=_pack_fidelity(keep['unpacked'], keep['packed_train'], site, packed_alone))
        if dictionary:
            summary['dictionary'] = str(dictionary)
            summary['dictionary_fvu_on_train_frames'] = _dictionary_fvu(dictionary, {'unpacked': keep['unpacked'], 'packed': keep['packed_train']}, site, train)
        print(json.dumps(summary), flush=True)


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
    p.add_argument('--pack', action='store_true', help='measure packing (issue 18) instead: unpacked vs packed extraction of --config')
    p.add_argument('--config', default='configs/tiny_default.yaml', help='--pack: the experiment whose corpus, model, site and data settings to use')
    p.add_argument('--repeats', type=int, default=3, help='--pack: interleaved repeats of each extraction')
    p.add_argument('--dictionary', default=None, help="--pack: a trained dictionary folder whose FVU on either store's training frames to report")
    p.add_argument('--_read', default=None, help=argparse.SUPPRESS)
    p.add_argument('--_train', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.pack: return bench_pack(a.config, a.repeats, a.dictionary)
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
