"""Inspecting evidence files: what a file really is, judged from its content.

``images`` reads photos with Pillow and pillow-heif (type, dimensions, EXIF GPS and time);
``audio`` reads recording segments (format and duration: mutagen, and its own walks of AMR
frames, WebM blocks and MP4 sample tables). Both raise ``MediaError`` with the API's problem
code when a file is not acceptable.
"""

from __future__ import annotations


class MediaError(Exception):
    """A file the API refuses, with the problem code and a sentence for people."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
