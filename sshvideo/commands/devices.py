"""``sshvideo devices``: the cameras and compute devices on this machine, and the CPU backend."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from sshvideo.commands import exit_codes

HELP = "list cameras and compute devices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


@dataclass(frozen=True)
class Options:
    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        return cls()


def run(options: Options) -> int:
    import torch

    from core.inference import available_devices
    from core.onnx_backend import onnxruntime_available
    from sshvideo.sources import list_cameras

    print("compute devices:")
    runner = "onnxruntime" if onnxruntime_available() else "torch (pip install onnxruntime onnx: faster)"
    for device in available_devices():
        if device == "cpu":
            print(f"  cpu ({torch.get_num_threads()} threads, {runner})")
        elif device.startswith("cuda"):
            print(f"  {device} {torch.cuda.get_device_name(torch.device(device))}")
        elif device != "auto":
            print(f"  {device}")
    cameras = list_cameras()
    print("cameras:" if cameras else "cameras: none found")
    for camera in cameras:
        print(f"  {camera.source!r}  {camera.name}")
    return exit_codes.OK
