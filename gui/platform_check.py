"""Before Qt starts on X11: are the system libraries its xcb platform plugin needs installed?

Since Qt 6.5 the xcb plugin links libxcb-cursor and several xcb-util libraries that a plain Linux
desktop often lacks. Qt then aborts with 'Could not load the Qt platform plugin "xcb"', which does not
say what to install. We try to load each library first and name the packages instead.
"""
from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping
from typing import NamedTuple


class XcbLibrary(NamedTuple):
    soname: str
    apt: str  # Debian, Ubuntu
    dnf: str  # Fedora, RHEL


# What PyQt6's libqxcb.so and libQt6XcbQpa.so link (ldd, Qt 6.11), besides libraries every desktop has.
XCB_LIBRARIES = (
    XcbLibrary("libxcb.so.1", "libxcb1", "libxcb"),
    XcbLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    XcbLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    XcbLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    XcbLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    XcbLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    XcbLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    XcbLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    XcbLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    XcbLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    XcbLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    XcbLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    XcbLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    XcbLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    XcbLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    XcbLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    XcbLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
)


def can_load(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` now, as Qt's plugin loader will (LD_LIBRARY_PATH too)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def will_use_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will pick its xcb plugin: Linux, an X display, and no other platform asked for.

    In a Wayland session (WAYLAND_DISPLAY set, XDG_SESSION_TYPE=wayland) Qt 6 prefers its wayland
    plugin when QT_QPA_PLATFORM is unset, so the xcb libraries are not needed there.
    """
    if not platform.startswith("linux"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if requested:
        return requested == "xcb"
    if not environ.get("DISPLAY"):
        return False
    wayland_session = bool(environ.get("WAYLAND_DISPLAY")) and environ.get("XDG_SESSION_TYPE") == "wayland"
    return not wayland_session


def missing_xcb_libraries(loadable: Callable[[str], bool] = can_load) -> list[XcbLibrary]:
    """The libraries of ``XCB_LIBRARIES`` that ``loadable`` cannot find, in table order."""
    return [lib for lib in XCB_LIBRARIES if not loadable(lib.soname)]


def _unique(names) -> str:
    return " ".join(dict.fromkeys(names))


def missing_libraries_message(missing: list[XcbLibrary]) -> str:
    """What to tell the user: the libraries that are missing and the packages that provide them."""
    return (
        "sshvideo view: Qt's X11 (xcb) platform plugin cannot start: missing "
        f"{', '.join(lib.soname for lib in missing)}.\n"
        "Install them, then run the command again:\n"
        f"  Debian/Ubuntu:  sudo apt install {_unique(lib.apt for lib in missing)}\n"
        f"  Fedora/RHEL:    sudo dnf install {_unique(lib.dnf for lib in missing)}\n"
        "(or run without a display, QT_QPA_PLATFORM=offscreen, to play the source once and save a snapshot)")


def xcb_problem(environ: Mapping[str, str], platform: str = sys.platform,
                loadable: Callable[[str], bool] = can_load) -> str | None:
    """The message to print before exiting, or None when Qt can start (or will not use xcb)."""
    if not will_use_xcb(environ, platform):
        return None
    missing = missing_xcb_libraries(loadable)
    return missing_libraries_message(missing) if missing else None
