"""The scenario test_mediaapp.py runs under the plugin in a subprocess: the
user opens four tabs and closes them, in --leak mode.  Not collected by
default (its name does not start with test_): it is meant to fail."""

from mediaapp import MainWindow, scripted_session


def test_user_closes_tabs_in_leak_mode(rescoord_service, qapp):
    window = MainWindow(rescoord_service, leak=True)
    scripted_session(window, tabs=4)
    # The window is left open: closing it would clean up its whole
    # subtree, the leaked tabs' workers included.
