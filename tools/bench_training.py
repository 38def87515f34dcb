#!/usr/bin/env python
"""Side-by-side TopK SAE training throughput: whisper_sae vs SAELens, dictionary_learning, sparsify.

Every implementation trains a TopK SAE (d_in 384, 3072 latents, k 32, batch 4096, fp32, Adam) on the same
synthetic activations, each in its own subprocess (so peak RSS is per implementation), with the same thread
count. Repeats are interleaved across implementations so machine-load drift hits all of them alike.
Prints one JSON line per implementation and a final line with `speedup_vs_best_peer`.

The peers are not dependencies of whisper_sae: install them in a throwaway venv, e.g.
    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install torch==2.13.0 sae-lens eai-sparsify
    /tmp/peers/bin/pip install --no-deps dictionary-learning && /tmp/peers/bin/pip install einops nnsight
and pass `--peers-python /tmp/peers/bin/python`. A peer that cannot be imported is skipped with a message.

    python tools/bench_training.py --peers-python /tmp/peers/bin/python

`--quality` measures sample efficiency instead: every implementation trains with its own default recipe (the learning
rate, schedule and optimiser a user of that library gets; ours is the main job's `train` section) on the real
activations of the main job's store (`--config`, extracted first if needed: training clips' frames, padding left out),
and held-out FVU on the held-out clips' frames is measured at `--eval-at` steps, the evaluation's time left out of the
clock. It prints one JSON line per implementation (its curve of step, seconds, FVU) and ends with a line holding
`fvu_ratio_vs_best_peer` (ours / the best peer's held-out FVU at equal steps; <= 1.0 means as sample-efficient) and
the same ratio at equal wall time (each peer's FVU at the last evaluation it reached within our training time).

    python tools/bench_training.py --quality --steps 800 --repeats 1
"""
from __future__ import annotations
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

PEERS = ('saelens', 'dictionary_learning', 'sparsify')
IMPLS = ('whisper_sae', 'whisper_sae_light', 'dense_torch') + PEERS
QUALITY_PEERS = PEERS + ('sparsify_adam',)  # sparsify's Trainer defaults to signSGD (schedule-free); Adam is its other documented optimiser
QUALITY_IMPLS = ('whisper_sae',) + QUALITY_PEERS
OURS = ('whisper_sae', 'whisper_sae_light', 'dense_torch')


# ---------------------------------------------------------------- workers (run in a subprocess each)
def _batches(args, start_timer, stop_timer):
    "Endless random batches from the shared data file; calls the timers at the right batch numbers."
    import numpy as np, torch
    import warnings; warnings.filterwarnings('ignore', message='The given NumPy array is not writable')
    data = torch.from_numpy(np.load(args.data, mmap_mode='r'))
    g = torch.Generator().manual_seed(0)
    n = 0
    while True:
        for idx in torch.randperm(len(data), generator=g).split(args.batch):
            if len(idx) < args.batch: continue
            if n == args.warmup: start_timer()
            if n == args.warmup + args.steps: stop_timer()
            n += 1
            yield data[idx.sort().values]


def _sgemm_gflops(args):
    "Sustained sgemm rate on the encoder's shape."
    import torch
    a, b = torch.randn(args.batch, args.d), torch.randn(args.d, args.latents)
    for _ in range(2): a @ b
    t0 = time.perf_counter(); n = 5
    for _ in range(n): a @ b
    return 2 * args.batch * args.d * args.latents * n / (time.perf_counter() - t0) / 1e9


class _Timer:
    def __init__(self): self.t0 = self.t1 = None
    def start(self): self.t0 = time.perf_counter()
    def stop(self): self.t1 = time.perf_counter()


def run_whisper_sae_light(args, timer):
    "whisper_sae with `Trainer(light_threads=1)`: small ops on one thread, the encoder GEMM and TopK on all."
    return run_whisper_sae(args, timer, light_threads=1)


def run_whisper_sae(args, timer, light_threads=None):
    "whisper_sae's `Trainer` with its default TrainConfig (grad clipping, dead-latent tracking, metrics) on a TopK SAE."
    import torch, whisper_sae
    from whisper_sae.config import DictionaryConfig, TrainConfig
    from whisper_sae.training import Callback, CancelFit, Trainer
    site = 'encoder.blocks.0.resid_post'
    class Source:  # the shared batches as an ActivationSource (position not needed here)
        def __iter__(self): return ({site: b} for b in _batches(args, timer.start, timer.stop))
        def state_dict(self): return {}
        def load_state_dict(self, s): pass
    class Stop(Callback):
        def after_step(self):
            if timer.t1 is not None: raise CancelFit()
    dc = DictionaryConfig(architecture='topk', in_sites=[site], n_latents=args.latents, k=args.k)
    tc = TrainConfig(steps=10**6, batch_size=args.batch, lr=4e-4, warmup_steps=100, log_every=10**6, checkpoint_every=10**6, init_batches=1)
    with tempfile.TemporaryDirectory() as out:
        Trainer(Source(), dc, tc, out, callbacks=[Stop()], progress=False, device='cpu', light_threads=light_threads).fit()
    return whisper_sae.__version__


def run_dense_torch(args, timer):
    "A plain dense PyTorch TopK SAE: the baseline a straightforward implementation gets."
    import torch
    d, m, k = args.d, args.latents, args.k
    W_dec = torch.randn(m, d); W_dec /= W_dec.norm(dim=1, keepdim=True)
    W_dec = torch.nn.Parameter(W_dec); W_enc = torch.nn.Parameter(W_dec.detach().t().clone())
    b_enc, b_dec = torch.nn.Parameter(torch.zeros(m)), torch.nn.Parameter(torch.zeros(d))
    opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=4e-4)
    for x in _batches(args, timer.start, timer.stop):
        if timer.t1 is not None: break
        pre = (x - b_dec) @ W_enc + b_enc
        v, i = pre.topk(k, dim=-1)
        acts = torch.zeros_like(pre).scatter(-1, i, v.relu())
        loss = ((acts @ W_dec + b_dec - x) ** 2).sum(-1).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad(): W_dec /= W_dec.norm(dim=1, keepdim=True)
    return torch.__version__


def run_saelens(args, timer):
    "SAELens `SAETrainer` with a `TopKTrainingSAE`, defaults otherwise."
    import importlib.metadata as md
    from sae_lens import LoggingConfig
    from sae_lens.config import SAETrainerConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.training.sae_trainer import SAETrainer
    sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=args.d, d_sae=args.latents, k=args.k, device='cpu'))
    total = (args.warmup + args.steps + 1) * args.batch
    cfg = SAETrainerConfig(total_training_samples=total, train_batch_size_samples=args.batch, lr=4e-4, lr_end=4e-4, device='cpu',
                           logger=LoggingConfig(log_to_wandb=False))
    SAETrainer(cfg, sae, _batches(args, timer.start, timer.stop)).fit()
    return md.version('sae-lens')


def run_dictionary_learning(args, timer):
    "dictionary_learning `TopKTrainer.update`, the call its `trainSAE` loop makes per batch."
    import importlib.metadata as md
    from dictionary_learning.trainers.top_k import TopKTrainer
    tr = TopKTrainer(steps=10**6, activation_dim=args.d, dict_size=args.latents, k=args.k, layer=0, lm_name='bench', device='cpu', lr=4e-4)
    for step, x in enumerate(_batches(args, timer.start, timer.stop)):
        if timer.t1 is not None: break
        tr.update(step, x)
    return md.version('dictionary-learning')


def run_sparsify(args, timer):
    "The per-step SAE work of sparsify's `Trainer` (Adam): forward with dead mask, fvu + auxk loss, parallel-gradient removal."
    import importlib.metadata as md, torch
    from sparsify import SparseCoder, SparseCoderConfig
    sae = SparseCoder(args.d, SparseCoderConfig(num_latents=args.latents, k=args.k), device='cpu')
    opt = torch.optim.Adam(sae.parameters(), lr=4e-4)
    since = torch.zeros(args.latents, dtype=torch.long)
    for x in _batches(args, timer.start, timer.stop):
        if timer.t1 is not None: break
        sae.set_decoder_norm_to_unit_norm()
        out = sae(x, dead_mask=since > 10_000_000)
        loss = out.fvu + 1 / 32 * out.auxk_loss
        loss.backward()
        since += len(x); since[out.latent_indices.flatten()] = 0
        sae.remove_gradient_parallel_to_decoder_directions()
        opt.step(); opt.zero_grad()
    return md.version('eai-sparsify')


def worker(args):
    import torch
    torch.set_num_threads(args.threads)
    timer = _Timer()
    fn = globals()[f'run_{args.worker}']
    gflops = _sgemm_gflops(args)
    try:
        version = fn(args, timer)
    except ImportError as e:
        print(json.dumps({'impl': args.worker, 'skipped': f"not importable with {sys.executable}: {e}"})); return
    if timer.t1 is None: raise RuntimeError(f"{args.worker} stopped before {args.warmup + args.steps} batches")
    dt = timer.t1 - timer.t0
    print(json.dumps({'impl': args.worker, 'version': version, 'tokens_per_s': args.steps * args.batch / dt, 'ms_per_step': 1e3 * dt / args.steps,
                      'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'sgemm_gflops': gflops}))


# ---------------------------------------------------------------- quality workers (--quality): each library's own default recipe
class _Clock:
    "Training seconds with the held-out evaluations left out; the held-out FVU at the steps in `eval_at`."
    def __init__(self, args):
        import numpy as np, torch
        self.heldout = torch.from_numpy(np.load(Path(args.data)/'heldout.npy'))
        self.eval_at, self.steps = sorted({int(s) for s in args.eval_at.split(',')} | {args.steps}), args.steps
        self.curve, self.seconds, self.t0 = [], 0.0, None
    def batches(self, args, recon):
        "The training batches (shuffled epochs of the training frames), evaluating `recon` before step n+1 when n is in `eval_at`, up to `steps`."
        import numpy as np, torch
        data = torch.from_numpy(np.load(Path(args.data)/'train.npy'))
        g, n = torch.Generator().manual_seed(0), 0
        self.t0 = time.perf_counter()
        while True:
            for idx in torch.randperm(len(data), generator=g).split(args.batch):
                if len(idx) < args.batch: continue
                if recon is not None:  # None: the caller evaluates (and stops) itself
                    self.at(n, recon)
                    if n == self.steps: return
                n += 1
                yield data[idx]
    def at(self, n, recon):
        if n not in self.eval_at or any(c['step'] == n for c in self.curve): return
        import torch
        self.seconds += time.perf_counter() - self.t0
        with torch.no_grad():
            h = self.heldout
            xh = torch.cat([recon(b) for b in h.split(4096)])
            fvu = float(((h - xh) ** 2).sum() / ((h - h.mean(0)) ** 2).sum())
        self.curve.append({'step': n, 'seconds': round(self.seconds, 2), 'fvu': round(fvu, 5)})
        self.t0 = time.perf_counter()


def quality_whisper_sae(args, clock):
    "whisper_sae's `Trainer` with the main job's dictionary and train sections (steps, latents and k from the arguments)."
    import torch, whisper_sae
    from whisper_sae.config import ExperimentConfig
    from whisper_sae.training import Callback, Trainer
    cfg = ExperimentConfig.load(args.config)
    site = cfg.dictionary.in_sites[0]
    class Evaluate(Callback):  # evaluates after the trainer's own steps: its set-up reads `init_batches` batches first
        def after_step(self):
            t = self.t; s = t.scales[site]
            def recon(x):
                t.model.eval(); y = t.model.reconstruct_sites({site: x * s})[site] / s; t.model.train()
                return y
            clock.at(t.step, recon)
    batches = clock.batches(args, None)
    class Source:
        def __iter__(self): return ({site: b} for b in batches)
        def state_dict(self): return {}
        def load_state_dict(self, s): pass
    over = {k: json.loads(v) if v[:1] in '0123456789-.[{"tfn' else v for k, v in (kv.split('=', 1) for kv in args.overrides)}
    tc = type(cfg.train).from_dict({**cfg.train.to_dict(), 'warmup_steps': min(cfg.train.warmup_steps, args.steps), **over,
                                     'steps': args.steps, 'log_every': 10**6, 'checkpoint_every': 10**6})
    with tempfile.TemporaryDirectory() as out:
        dc = type(cfg.dictionary).from_dict({**cfg.dictionary.to_dict(), 'n_latents': args.latents, 'k': args.k})  # the peers' size
        Trainer(Source(), dc, tc, out, callbacks=[Evaluate()], progress=False, device='cpu').fit()
    return whisper_sae.__version__


def _sparsify(args, clock, optimizer):
    "sparsify's `Trainer` step with its default recipe: FVU loss, parallel-gradient removal, unit-norm decoder, AuxK off (its default)."
    import importlib.metadata as md, torch
    from sparsify import SparseCoder, SparseCoderConfig
    sae = SparseCoder(args.d, SparseCoderConfig(num_latents=args.latents, k=args.k), device='cpu')
    if optimizer == 'adam':
        opt = torch.optim.Adam(sae.parameters(), lr=2e-4 / (args.latents / 2**14) ** 0.5); sf = None
    else:
        from schedulefree import ScheduleFreeWrapper
        from sparsify.sign_sgd import SignSGD
        sf = opt = ScheduleFreeWrapper(SignSGD(sae.parameters(), lr=5e-3 / (args.latents / 2**14) ** 0.5), momentum=0.95); opt.train()
    def recon(x):
        if sf: sf.eval()
        y = sae(x).sae_out
        if sf: sf.train()
        return y
    for x in clock.batches(args, recon):
        out = sae(x, dead_mask=None)
        out.fvu.backward()
        sae.remove_gradient_parallel_to_decoder_directions()
        opt.step(); opt.zero_grad()
        sae.set_decoder_norm_to_unit_norm()
    return md.version('eai-sparsify')

def quality_sparsify(args, clock): return _sparsify(args, clock, 'signum')
def quality_sparsify_adam(args, clock): return _sparsify(args, clock, 'adam')


def quality_saelens(args, clock):
    "SAELens `SAETrainer` with a `TopKTrainingSAE`, its runner's default learning rate (3e-4, constant, no warm-up)."
    import importlib.metadata as md, torch
    from sae_lens import LoggingConfig
    from sae_lens.config import SAETrainerConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.training.sae_trainer import SAETrainer
    sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=args.d, d_sae=args.latents, k=args.k, device='cpu'))
    def recon(x):
        sae.eval(); y = sae.decode(sae.encode(x)); sae.train()
        return y
    cfg = SAETrainerConfig(total_training_samples=args.steps * args.batch, train_batch_size_samples=args.batch, lr=3e-4, lr_end=3e-4,
                           device='cpu', logger=LoggingConfig(log_to_wandb=False))
    SAETrainer(cfg, sae, clock.batches(args, recon)).fit()
    clock.at(args.steps, recon)
    return md.version('sae-lens')


def quality_dictionary_learning(args, clock):
    """dictionary_learning's `TopKTrainer` with its defaults (learning rate from the dictionary size, its decay, AuxK), except
    warm-up: its default of 1000 steps must be shorter than the run, so it is a tenth of the run."""
    import importlib.metadata as md
    from dictionary_learning.trainers.top_k import TopKTrainer
    tr = TopKTrainer(steps=args.steps, activation_dim=args.d, dict_size=args.latents, k=args.k, layer=0, lm_name='bench', device='cpu',
                     warmup_steps=max(1, args.steps // 10))
    for step, x in enumerate(clock.batches(args, lambda x: tr.ae(x))):
        tr.update(step, x)
    return md.version('dictionary-learning')


def quality_worker(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clock = _Clock(args)
    name, *args.overrides = args.worker.split(':')
    try:
        version = globals()[f'quality_{name}'](args, clock)
    except ImportError as e:
        print(json.dumps({'impl': args.worker, 'skipped': f"not importable with {sys.executable}: {e}"})); return
    print(json.dumps({'impl': args.worker, 'version': version, 'curve': clock.curve}))


def dump_store(args):
    "Write the main job's training and held-out frames (padding left out) as train.npy / heldout.npy in `args.data`."
    import numpy as np, torch
    from whisper_sae.config import ExperimentConfig
    from whisper_sae.pipeline import experiment_paths, phase_extract
    from whisper_sae.whisper import load_whisper
    cfg = ExperimentConfig.load(args.config)
    ex = phase_extract(cfg, load_whisper(cfg.model.spec), experiment_paths(cfg), progress=False)
    site = cfg.dictionary.in_sites[0]
    cols = ex.store.read([site, 'clip', 'is_padding'])
    for name, clips in (('train', ex.train_clips), ('heldout', ex.heldout_clips)):
        keep = torch.isin(cols['clip'], torch.tensor(clips, dtype=cols['clip'].dtype)) & (cols['is_padding'] == 0)
        np.save(Path(args.data)/f'{name}.npy', cols[site][keep].float().numpy())
    print(json.dumps({'site': site, 'store': str(ex.store.folder), 'd': cols[site].shape[1],
                      'train_frames': int(np.load(Path(args.data)/'train.npy', mmap_mode='r').shape[0]),
                      'heldout_frames': int(np.load(Path(args.data)/'heldout.npy', mmap_mode='r').shape[0])}))


def _run_worker(cmd:list, env:dict):
    "Run one worker process: (its last JSON line, None), or (None, why it gave none)."
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [l for l in res.stdout.splitlines() if l.startswith('{')]
    if res.returncode or not lines:
        return None, f"failed (exit {res.returncode}): {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else 'no output'}"
    out = json.loads(lines[-1])
    return (None, out['skipped']) if 'skipped' in out else (out, None)


def quality_main(args, impls, peers_python):
    "The --quality driver: dump the store once, run each implementation (interleaved repeats), summarise at equal steps and time."
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, 'OMP_NUM_THREADS': str(args.threads), 'WANDB_MODE': 'disabled', 'TQDM_DISABLE': '1'}
        res = subprocess.run([args.python, __file__, '--worker', 'dump', '--data', tmp, '--config', args.config], capture_output=True, text=True, env=env)
        if res.returncode: raise SystemExit(f"could not read the store of {args.config}: {res.stderr.strip()[-600:]}")
        info = json.loads(res.stdout.strip().splitlines()[-1]); print(json.dumps({'data': info}), flush=True)
        runs, skipped = {i: [] for i in impls}, {}
        for r in range(args.repeats):
            for impl in impls:
                if impl in skipped: continue
                py = args.python if impl.split(':')[0] in OURS else peers_python
                if py is None: skipped[impl] = f"no peers interpreter at {args.peers_python}"; continue
                cmd = [py, __file__, '--quality', '--worker', impl, '--data', tmp, '--config', args.config, '--eval-at', args.eval_at] + \
                      [f'--{k}={getattr(args, k)}' for k in ('steps', 'latents', 'k', 'batch', 'threads')] + [f"--d={info['d']}"]
                out, why = _run_worker(cmd, env)
                if out is None: skipped[impl] = why; continue
                runs[impl].append(out)
                c = out['curve'][-1]
                print(f"# repeat {r + 1}/{args.repeats} {impl}: held-out FVU {c['fvu']:.4f} after {c['step']} steps, {c['seconds']:.0f} s", file=sys.stderr, flush=True)
    final, curves = {}, {}
    for impl in impls:
        if impl in skipped: print(json.dumps({'impl': impl, 'skipped': skipped[impl]})); continue
        rs = runs[impl]
        curves[impl] = [{'step': pts[0]['step'], 'seconds': round(statistics.median(p['seconds'] for p in pts), 1),
                         'fvu': round(statistics.median(p['fvu'] for p in pts), 4)} for pts in zip(*(r['curve'] for r in rs))]
        final[impl] = curves[impl][-1]
        print(json.dumps({'impl': impl, 'version': rs[0]['version'], 'fvu': final[impl]['fvu'], 'seconds': final[impl]['seconds'],
                          'fvu_runs': [r['curve'][-1]['fvu'] for r in rs], 'curve': curves[impl]}))
    peers = {i: v['fvu'] for i, v in final.items() if i in QUALITY_PEERS}
    if 'whisper_sae' not in final or not peers:
        print(json.dumps({'fvu_ratio_vs_best_peer': None, 'reason': 'whisper_sae or every peer missing'})); return
    best = min(peers, key=peers.get)
    ours_s = final['whisper_sae']['seconds']
    at_time = {i: ([p['fvu'] for p in curves[i] if p['seconds'] <= ours_s] or [None])[-1] for i in peers}
    reached = {i: v for i, v in at_time.items() if v is not None}
    best_t = min(reached, key=reached.get) if reached else None
    print(json.dumps({'fvu_ratio_vs_best_peer': round(final['whisper_sae']['fvu'] / peers[best], 3), 'best_peer': best, 'steps': args.steps,
                      'fvu': final['whisper_sae']['fvu'], 'best_peer_fvu': peers[best],
                      'fvu_ratio_vs_best_peer_equal_time': round(final['whisper_sae']['fvu'] / reached[best_t], 3) if best_t else None,
                      'best_peer_equal_time': best_t, 'peer_fvu_at_our_seconds': at_time, 'our_seconds': ours_s,
                      'train_frames': info['train_frames'], 'heldout_frames': info['heldout_frames']}))


# ---------------------------------------------------------------- driver
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--impls', default=None, help=f"comma-separated subset of {', '.join(IMPLS)} (--quality: {', '.join(QUALITY_IMPLS)})")
    p.add_argument('--peers-python', default='/tmp/peers/bin/python', help='interpreter with the peer libraries installed')
    p.add_argument('--python', default=sys.executable, help='interpreter with whisper_sae installed')
    p.add_argument('--repeats', type=int, default=3, help='processes per implementation (median reported)')
    p.add_argument('--steps', type=int, default=25, help='timed steps')
    p.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    p.add_argument('--rows', type=int, default=200_000, help='rows of shared synthetic activations')
    p.add_argument('--d', type=int, default=384); p.add_argument('--latents', type=int, default=3072)
    p.add_argument('--k', type=int, default=32); p.add_argument('--batch', type=int, default=4096)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--quality', action='store_true', help='sample efficiency on real activations (see the module doc) instead of throughput')
    p.add_argument('--config', default=str(Path(__file__).resolve().parents[1]/'configs'/'tiny_default.yaml'),
                   help='--quality: the experiment whose store and train recipe are used')
    p.add_argument('--eval-at', default='100,200,400', help='--quality: steps at which held-out FVU is measured (and --steps)')
    p.add_argument('--worker', help=argparse.SUPPRESS); p.add_argument('--data', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker == 'dump': return dump_store(args)
    if args.worker: return quality_worker(args) if args.quality else worker(args)

    import numpy as np
    known = QUALITY_IMPLS if args.quality else IMPLS
    impls = [i.strip() for i in (args.impls or ','.join(known)).split(',') if i.strip()]
    for i in impls:  # --quality: `whisper_sae:lr=1e-3:lr_schedule=constant` is ours with train fields overridden
        if i.split(':')[0] not in known or (':' in i and not (args.quality and i.startswith('whisper_sae:'))):
            p.error(f"unknown implementation {i!r}: use {', '.join(known)}" + (" (whisper_sae:FIELD=VALUE:... with --quality)" if args.quality else ''))
    peers_python = args.peers_python if Path(args.peers_python).exists() else None
    if args.quality: return quality_main(args, impls, peers_python)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)/'acts.npy'
        rng = np.random.default_rng(0)  # heavy-tailed, anisotropic activations with a mean offset, like a residual stream
        scales = np.exp(rng.normal(0, 0.5, args.d)).astype(np.float32)
        np.save(data, (rng.standard_t(5, (args.rows, args.d)).astype(np.float32) * scales + rng.normal(0, 1, args.d).astype(np.float32)))
        runs, skipped = {i: [] for i in impls}, {}
        for r in range(args.repeats):
            for impl in impls:
                if impl in skipped: continue
                py = args.python if impl in ('whisper_sae', 'whisper_sae_light', 'dense_torch') else peers_python
                if py is None:
                    skipped[impl] = f"no peers interpreter at {args.peers_python}: install the peers (see --help) or pass --peers-python"; continue
                cmd = [py, __file__, '--worker', impl, '--data', str(data)] + [f'--{k}={getattr(args, k)}' for k in ('steps', 'warmup', 'd', 'latents', 'k', 'batch', 'threads')]
                out, why = _run_worker(cmd, {**os.environ, 'OMP_NUM_THREADS': str(args.threads), 'WANDB_MODE': 'disabled', 'TQDM_DISABLE': '1'})
                if out is None: skipped[impl] = why; continue
                runs[impl].append(out)
                print(f"# repeat {r + 1}/{args.repeats} {impl}: {out['tokens_per_s']:.0f} tokens/s", file=sys.stderr, flush=True)
    flops_per_token = 2 * args.d * args.latents + 10 * args.k * args.d
    summary = {}
    for impl in impls:
        if impl in skipped:
            print(json.dumps({'impl': impl, 'skipped': skipped[impl]})); continue
        rs = runs[impl]
        tps = statistics.median(r['tokens_per_s'] for r in rs)
        gf = statistics.median(r['sgemm_gflops'] for r in rs)
        summary[impl] = tps
        print(json.dumps({'impl': impl, 'version': rs[0]['version'], 'tokens_per_s': round(tps), 'tokens_per_s_runs': [round(r['tokens_per_s']) for r in rs],
                          'ms_per_step': round(statistics.median(r['ms_per_step'] for r in rs), 1),
                          'peak_rss_mb': round(max(r['peak_rss_mb'] for r in rs)), 'sgemm_gflops': round(gf, 1),
                          'frac_of_sgemm_limit': round(tps / (gf * 1e9 / flops_per_token), 3)}))
    peers = {i: v for i, v in summary.items() if i in PEERS}
    if 'whisper_sae' in summary and peers:
        best = max(peers, key=peers.get)
        print(json.dumps({'speedup_vs_best_peer': round(summary['whisper_sae'] / peers[best], 2), 'best_peer': best,
                          'speedup_vs_dense_torch': round(summary['whisper_sae'] / summary['dense_torch'], 2) if 'dense_torch' in summary else None,
                          'light_threads_speedup_vs_best_peer': round(summary['whisper_sae_light'] / peers[best], 2) if 'whisper_sae_light' in summary else None}))
    else:
        print(json.dumps({'speedup_vs_best_peer': None, 'reason': 'whisper_sae or every peer missing'}))


if __name__ == '__main__':
    main()
