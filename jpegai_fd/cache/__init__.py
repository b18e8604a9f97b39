"""The Zarr latent cache (:mod:`.store`) and the extraction that fills it (:mod:`.extraction`)."""
