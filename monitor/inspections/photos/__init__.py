"""Photos of checklist items (现场照片): an item may require or allow them
(``photo: required|optional``); the round page takes them with the tablet's camera, scales them
in the browser and uploads them; the server checks what they are, strips their metadata,
re-encodes them and keeps each once, under the SHA-256 of its stored bytes, linked to the item
of the round. The hashes are part of the signed record and of its audit line.

The parts, one concept each: ``image`` (the bytes: type by content, limits, EXIF stripping,
thumbnails; the only Pillow importer), ``tables`` (the rows and the database rules),
``service`` (who may add or remove which photo, and when) and ``web`` (the streamed upload, the
images and the page's script).

This module imports nothing, so the store can build on ``tables`` without a cycle.
"""
