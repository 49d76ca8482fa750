"""Accuracy and speed against the peers, in one run: WIDER FACE val easy / medium / hard AP (official
protocol, restricted to the images in ../shared/data/wider/val) and ms per 640×480 frame.

    python bench/accuracy.py [--weights CKPT] [--threads 2] [--sizes native,1200:1600]

Peers run at their authors' WIDER protocol (YuNet, YuNet-n, RetinaFace: the image's own size; SCRFD-500M
and SCRFD-2.5G: longer side 640; ULFD: its fixed input) through the peers' runner; ours at each of --sizes. Timing: end-to-end detect() at 640×480 with
the deployment threshold, same threads, same image, same run: --rounds rounds that each time ours and
then every peer (a median of up to 40 calls each), so a machine that slows down mid-run slows everyone;
the table gives the median over rounds and the range.

A second table says how sure each AP difference is: ours at the first of --sizes minus each peer, with
the 95 % interval of a paired bootstrap over the images (--bootstrap draws; ``training.ap_bootstrap``)
and the share of draws in which ours is higher.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from common import (
    GT,
    VAL,
    format_times,
    interleaved_timing,
    markdown_table,
    ours_key,
    pin_threads,
    prepared_peers,
)

PEER_NAMES = ["yunet", "yunet_n", "scrfd_500m", "scrfd_2.5g", "retinaface_mnet025", "ulfd_rfb640", "ulfd_rfb320"]


def evaluate_dir(pred_dir: Path):
    """(AP per setting, per-image counts for the bootstrap) of the prediction files in ``pred_dir``."""
    from training.wider_eval import (
        image_keys_in,
        load_wider_ground_truth,
        per_image_counts,
        read_prediction_dir,
        result_from_counts,
    )

    keys = image_keys_in(VAL / "images")
    counts = per_image_counts(read_prediction_dir(pred_dir, keys), load_wider_ground_truth(GT), keys)
    return result_from_counts(counts).ap, counts


def format_difference(d) -> str:
    """"+0.004 [−0.006, +0.014], 79 %": AP difference, its bootstrap interval, share of draws higher."""
    return f"{d.observed:+.3f} [{d.low:+.3f}, {d.high:+.3f}], {100 * d.share_a_higher:.0f} %"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="checkpoint (default: the embedded model)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", default="native", help="comma-separated detection sizes for our model: 'native', "
                                                      "SHORT:MAX, or 'pyramid' (the paper's 4 levels)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (default 3)")
    ap.add_argument("--backend", default="auto", choices=["auto", "torch", "onnxruntime"],
                    help="what runs our network on the CPU (default: auto)")
    ap.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                    help="paired bootstrap draws for the AP differences against the peers (0: skip; default 1000)")
    args = ap.parse_args(argv)
    pin_threads(args.threads)

    from core.weights import default_weights
    from sshvideo.models import load_detector
    from training.evaluate import format_wider_file, predict_wider_images
    from training.wider_eval import image_keys_in

    weights = args.weights or default_weights()
    keys = image_keys_in(VAL / "images")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            detector = (load_detector(weights, device="cpu", pyramid=True, backend=args.backend) if size == "pyramid"
                        else load_detector(weights, device="cpu", size=size, backend=args.backend))
            backend = detector.backend
            preds = predict_wider_images(detector, VAL / "images", keys)
            out = Path(tmp) / f"ours_{size.replace(':', 'x')}"
            for key, rows_ in preds.items():
                (out / key).parent.mkdir(parents=True, exist_ok=True)
                (out / f"{key}.txt").write_text(format_wider_file(key.split("/")[1], rows_))
            rows.append([f"ssh_lite (ours), {size}", *evaluate_dir(out)])
        if not args.skip_peers:
            for name in PEER_NAMES:
                out = Path(tmp) / name
                proc = subprocess.run([sys.executable, str(prepared_peers() / "run_peer.py"), "--detector", name, "--images",
                                       str(VAL / "images"), "--out", str(out), "--threads", str(args.threads)],
                                      capture_output=True, text=True)
                if proc.returncode:
                    print(f"{name} failed: {proc.stderr[-300:]}", file=sys.stderr)
                    continue
                rows.append([name, *evaluate_dir(out)])
    ms = interleaved_timing(weights, [name for name, *_ in rows if name in PEER_NAMES], args.threads, args.rounds,
                            backends=(args.backend,))
    print(f"WIDER FACE val, {len(keys)} images, official protocol; ms: end-to-end at 640×480, {args.threads} threads, "
          f"median [min–max] of {args.rounds} interleaved rounds; weights: {weights}; our backend: {backend}")
    table = [[name, f"{ap_['easy']:.3f}", f"{ap_['medium']:.3f}", f"{ap_['hard']:.3f}",
              format_times(ms[ours_key(args.backend) if name.startswith("ssh_lite") else name])] for name, ap_, _ in rows]
    print(markdown_table(["detector", "easy AP", "medium AP", "hard AP", "ms / 640×480 frame"], table))
    peers = [(name, counts) for name, _, counts in rows if name in PEER_NAMES]
    if args.bootstrap > 0 and peers:
        from training.ap_bootstrap import bootstrap_ap_difference

        ours_name, _, ours_counts = rows[0]
        print(f"\n{ours_name} minus each peer: AP difference [95 % interval], share of draws in which ours is "
              f"higher; paired bootstrap over the {len(keys)} images, {args.bootstrap} draws:")
        table = [[name, *(format_difference(d) for d in bootstrap_ap_difference(ours_counts, counts, args.bootstrap))]
                 for name, counts in peers]
        print(markdown_table(["peer", "easy", "medium", "hard"], table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
