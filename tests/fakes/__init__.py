"""Minimal stand-ins for the DCC APIs the adapters call (Nuke's ``nuke``, Houdini's ``hou``), named and
behaving like the documented calls they replace, so adapter code runs here unchanged."""
