"""The xcb library check that runs before Qt starts on an X11 desktop (pure functions, fake loader)."""
from gui.platform_check import (
    XCB_LIBRARIES,
    missing_xcb_libraries,
    will_use_xcb,
    xcb_problem,
)

X11 = {"DISPLAY": ":0"}


def only_missing(*sonames):
    return lambda soname: soname not in sonames


def test_names_the_missing_libraries_and_the_packages_for_apt_and_dnf():
    message = xcb_problem(X11, "linux", only_missing("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"))
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert "apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1\n" in message
    assert "dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms\n" in message


def test_dnf_packages_shared_by_several_libraries_are_named_once():
    message = xcb_problem(X11, "linux", only_missing("libxcb-shape.so.0", "libxcb-xkb.so.1"))
    assert "dnf install libxcb\n" in message and "apt install libxcb-shape0 libxcb-xkb1\n" in message


def test_nothing_to_say_when_every_library_loads_or_xcb_is_not_used():
    assert xcb_problem(X11, "linux", lambda soname: True) is None
    nothing_loads = lambda soname: False
    assert xcb_problem({}, "linux", nothing_loads) is None  # no display: offscreen
    assert xcb_problem({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, "linux", nothing_loads) is None
    assert xcb_problem(X11, "darwin", nothing_loads) is None
    assert missing_xcb_libraries(nothing_loads) == list(XCB_LIBRARIES)


def test_when_qt_picks_xcb():
    assert will_use_xcb({"DISPLAY": ":0"}, "linux")
    assert will_use_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert will_use_xcb({"QT_QPA_PLATFORM": "xcb:nograb", "DISPLAY": ":1"}, "linux")
    assert not will_use_xcb({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux")
    assert not will_use_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux")
    assert will_use_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "linux")
    assert not will_use_xcb({}, "linux")
