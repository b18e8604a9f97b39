"""jpegai_fd: detect synthetic face images from learned-codec (JPEG AI) latents."""

__version__ = "0.1.0"
