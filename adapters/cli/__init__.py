"""The ``caresupport-transport`` command line (a composition root: it wires adapters)."""
