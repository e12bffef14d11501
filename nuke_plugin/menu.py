"""relit for Nuke, GUI sessions only: a relit menu in the Nodes toolbar."""
import nuke

nuke.menu("Nodes").addMenu("relit").addCommand("Relit", "nuke.createNode('Relit')")
