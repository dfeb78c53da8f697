"""Privacy: the data key (``keys``), what the person agreed to keep (``consent``), and deleting it all
(``wipe``)."""
