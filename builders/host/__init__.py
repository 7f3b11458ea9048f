"""The host side: `python -m builders.host` builds an application image with Docker alone, the way
`s2i build` does. It runs on the user's machine and is never copied into a builder image; the code in
the images never imports it."""
