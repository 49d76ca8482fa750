"""Encoding the rendered video, with the input's audio copied untouched.

Video: H.264 (libx264, yuv420p, CRF 20) or the best encoder available, the input's resolution, frame rate
and time base, and each frame's own timestamp (variable frame rate survives). yuv420p needs an even
width and height, and H.264 can only crop in steps of two pixels, so an odd-sized input is encoded one
pixel wider and/or taller, its last column/row repeated (edge replication: no content scaled or cut,
every pixel at its input coordinates); ``VideoWriter.padded`` says so and a warning is logged.
Audio (``keep_audio``): the first audio stream, chosen by type, is copied packet by packet from a
second demuxer, interleaved as the video advances; packets whose DTS does not increase are dropped
(they abort MP4 muxing otherwise). Written atomically by the caller.
"""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np

from sshvideo.capture import StreamInfo

log = logging.getLogger(__name__)

H264_ENCODERS = ("libx264", "libopenh264", "h264_videotoolbox", "h264_nvenc", "mpeg4")
MP4_AUDIO_CODECS = {"aac", "mp3", "mp2", "ac3", "eac3", "alac", "opus", "flac"}


def pick_encoder() -> str:
    import av

    for name in H264_ENCODERS:
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
                return name
            except Exception:  # listed but not usable as an encoder in this build
                continue
    raise RuntimeError("no H.264 or MPEG-4 video encoder in this PyAV build")


def audio_codec_of(path: str | Path) -> str | None:
    """Codec name of the first audio stream, or None."""
    import av

    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.name if container.streams.audio else None


def output_suffix_for(path: str | Path, keep_audio: bool) -> str:
    """".mp4", or ".mkv" when the audio to copy cannot go into MP4 (e.g. PCM)."""
    if keep_audio:
        codec = audio_codec_of(path)
        if codec is not None and codec not in MP4_AUDIO_CODECS:
            return ".mkv"
    return ".mp4"


class _AudioCopier:
    """Copies audio packets of ``source`` into ``container`` up to a given time."""

    def __init__(self, av, source: str, container, start: float | None, end: float | None, shift: float):
        self._input = av.open(source)
        in_stream = self._input.streams.audio[0]
        self.out_stream = container.add_stream_from_template(in_stream)
        self._tb = Fraction(in_stream.time_base.numerator, in_stream.time_base.denominator)
        self._shift_ticks = int(round(shift / self._tb))
        if start:
            self._input.seek(int(start / self._tb), stream=in_stream, backward=True)
        self._packets = self._input.demux(in_stream)
        self._pending = None
        self._start, self._end = start, end
        self._last_dts = None
        self._container = container
        self.dropped = 0

    def feed_until(self, seconds: float | None) -> None:
        """Mux every audio packet that starts at or before ``seconds`` (None: all that remain)."""
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            if packet.size == 0 or packet.pts is None:
                continue  # demuxer flush packet / unusable timestamp
            t = float(packet.pts * self._tb)
            if self._start is not None and t < self._start:
                continue
            if self._end is not None and t > self._end:
                return
            if seconds is not None and t > seconds:
                self._pending = packet
                return
            packet.pts -= self._shift_ticks
            if packet.dts is not None:
                packet.dts -= self._shift_ticks
                if self._last_dts is not None and packet.dts <= self._last_dts:
                    self.dropped += 1
                    continue
                self._last_dts = packet.dts
            if self._shift_ticks and packet.pts < 0:
                continue  # trimmed output: nothing before its start (untrimmed keeps codec priming packets)
            packet.stream = self.out_stream
            self._container.mux(packet)

    def close(self):
        self._input.close()


class VideoWriter:
    """Encode RGB frames to ``path`` with the timing of the input described by ``info``.

    ``width``/``height`` are the encoded size: the input's, rounded up to even (``padded`` is True
    then, see the module docstring).

    Args:
        shift: seconds subtracted from every timestamp (the first written frame's time, so trimmed
            outputs start at 0).
        audio_source: the input file to copy audio from (None: no audio).
    """

    def __init__(self, path: str | Path, info: StreamInfo, *, shift: float = 0.0, audio_source: str | None = None,
                 start: float | None = None, end: float | None = None, crf: int = 20, preset: str = "veryfast"):
        import av

        self._av = av
        options = {}
        if info.time_base.numerator == 1 and str(path).endswith((".mp4", ".mov")):
            options["video_track_timescale"] = str(info.time_base.denominator)  # keep the input's time base
        self.container = av.open(str(path), "w", options=options)
        self.encoder = pick_encoder()
        rate = Fraction(info.fps).limit_denominator(1001) if info.fps else Fraction(30)
        self.stream = self.container.add_stream(self.encoder, rate=rate)
        self.width, self.height = info.width + info.width % 2, info.height + info.height % 2
        self.padded = (self.width, self.height) != (info.width, info.height)
        if self.padded:
            log.warning("%s: the input is %d×%d, an odd size H.264 (yuv420p) cannot store: encoded as %d×%d "
                        "with the last %s repeated", path, info.width, info.height, self.width, self.height,
                        " and ".join(part for part, odd in (("column", info.width % 2), ("row", info.height % 2))
                                     if odd))
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = info.time_base
        self.stream.codec_context.time_base = info.time_base
        if self.encoder == "libx264":
            self.stream.options = {"crf": str(crf), "preset": preset}
        self._tb = info.time_base
        self._shift = shift
        self._last_pts = None
        self.audio = None
        self.audio_dropped = 0
        if audio_source is not None and audio_codec_of(audio_source) is not None:
            self.audio = _AudioCopier(av, audio_source, self.container, start, end, shift)

    def write(self, image: np.ndarray, seconds: float) -> None:
        """Encode one RGB uint8 (H, W, 3) frame presented at ``seconds`` (input timeline)."""
        if image.shape[0] != self.height or image.shape[1] != self.width:
            image = np.pad(image, ((0, self.height - image.shape[0]), (0, self.width - image.shape[1]), (0, 0)),
                           mode="edge")
        frame = self._av.VideoFrame.from_ndarray(image, format="rgb24")
        pts = int(round((seconds - self._shift) / self._tb))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # keep timestamps strictly increasing (duplicated input pts)
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = self._tb
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        if self.audio is not None:
            self.audio.feed_until(seconds)

    def close(self) -> None:
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            if self.audio is not None:
                self.audio.feed_until(None)
                self.audio_dropped = self.audio.dropped
        finally:
            if self.audio is not None:
                self.audio.close()
            self.container.close()
