"""The virtual light stage (extra ``train``): path-traced synthetic people with exact passes.

Like Lumos, relit makes its own training data: anny people (``person``) dressed and coloured
(``look``, ``hair``), framed and lit like real plates and rendered with Mitsuba 3 (``sample``),
many at a time, resumable (``job``).
"""
