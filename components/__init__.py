"""Pure builders of layout and figures from plain data: no I/O, no callbacks, no Explorer."""
