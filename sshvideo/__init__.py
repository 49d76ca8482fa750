"""sshvideo: the SSH face detector on video files, streams and webcams."""
__version__ = "0.1.0"
