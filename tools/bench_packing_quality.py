"""Is a dictionary trained on packed windows as good on ordinary ones? (issue 18)

Runs the main job's recipe (--config, default configs/tiny_default.yaml) with `data.pack: true`: the training clips are
packed several to an encoder window, the held-out clips keep a window each, so its held-out FVU, CE and WER recovered are
measured on ordinary single-utterance windows, the same held-out frames and clips as the unpacked main job. The unpacked
run is not repeated: --baseline is its metrics.json, checked to be the same config's (its extract and train hashes).

    nice -n 10 .venv/bin/python tools/bench_packing_quality.py --baseline outputs/tiny_default/metrics.json \
        > tools/results/store_packing_quality.json

Prints one JSON object: both runs' metrics side by side, the packed minus unpacked differences, and the packed store's
extraction (windows, seconds, real frames per second) and run time (null for a run found in the cache). With --replicate-seed N it also trains the unpacked recipe again
with `train.seed: N` (extracting the unpacked store itself), as a yardstick: how far two unpacked runs differ by their
seed alone. The runs' files go under --root (outputs/ and .cache/), so a second call reuses them.
"""
import argparse, json, sys, time
from pathlib import Path

KEYS = ('fvu', 'cosine', 'l0', 'dead_fraction', 'dense_fraction', 'ce_clean', 'ce_spliced', 'ce_loss_recovered', 'wer_clean', 'wer_spliced',
        'wer_recovered', 'n_train_frames', 'n_eval_frames', 'n_clips', 'n_tokens')


def _run(cfg, root):
    "The run's metrics, and its seconds (None when it was all cache hits, as on a second call)."
    from whisper_sae.pipeline import experiment_paths, run_experiment
    cached = experiment_paths(cfg, root).metrics.exists()
    t = time.time()
    m = run_experiment(cfg, root=root, progress=False)
    return m, None if cached else round(time.time() - t)


def _extraction(cfg, root):
    "Windows, seconds and real frames per second of the run's store, from its manifest."
    from whisper_sae.pipeline import experiment_paths
    from whisper_sae.store import ActivationStore
    ex = ActivationStore(experiment_paths(cfg, root).store).manifest['extraction']
    return dict(windows=ex['windows'], seconds=round(ex['seconds'], 1), real_frames=ex['real_frames'], real_frames_per_s=round(ex['real_frames_per_s'], 1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default='configs/tiny_default.yaml', help='the unpacked experiment (the main job)')
    p.add_argument('--baseline', required=True, help="the unpacked experiment's metrics.json (not re-run here)")
    p.add_argument('--root', default='.', help="where the packed run's outputs/ and .cache/ go")
    p.add_argument('--replicate-seed', type=int, default=None, help='also train the unpacked recipe with this train.seed (seed-to-seed yardstick)')
    a = p.parse_args()
    from whisper_sae.config import ExperimentConfig
    base_cfg = ExperimentConfig.load(a.config)
    base = json.loads(Path(a.baseline).read_text())
    for ph in ('extract', 'train'):
        if base.get(f'{ph}_hash') != base_cfg.phase_hash(ph):
            sys.exit(f"{a.baseline} is not {a.config}'s run: its {ph} hash is {base.get(f'{ph}_hash')}, the config's {base_cfg.phase_hash(ph)}. "
                     "Fix: pass the metrics.json that config wrote")
    cfg = ExperimentConfig.from_dict({**base_cfg.to_dict(), 'name': f'{base_cfg.name}_packed', 'data': {**base_cfg.data.to_dict(), 'pack': True}})
    m, secs = _run(cfg, a.root)
    ex = _extraction(cfg, a.root)
    out = dict(bench='packing_quality', config=a.config, baseline=a.baseline, pack_gap_s=cfg.data.pack_gap_s,
               unpacked={k: base.get(k) for k in KEYS}, packed={k: m.get(k) for k in KEYS},
               packed_minus_unpacked={k: m[k] - base[k] for k in ('fvu', 'cosine', 'ce_loss_recovered', 'wer_recovered', 'wer_spliced', 'l0')},
               packed_extraction=ex, packed_run_seconds=secs, hashes=dict(unpacked=base.get('extract_hash'), packed=cfg.phase_hash('extract')))
    if a.replicate_seed is not None:
        rep = ExperimentConfig.from_dict({**base_cfg.to_dict(), 'name': f'{base_cfg.name}_seed{a.replicate_seed}',
                                          'train': {**base_cfg.train.to_dict(), 'seed': a.replicate_seed}})
        r, rsecs = _run(rep, a.root)
        out['unpacked_replicate'] = dict(seed=a.replicate_seed, **{k: r.get(k) for k in KEYS}, extraction=_extraction(rep, a.root), run_seconds=rsecs)
        out['replicate_minus_unpacked'] = {k: r[k] - base[k] for k in out['packed_minus_unpacked']}
    print(json.dumps(out, indent=1))


if __name__ == '__main__': main()
