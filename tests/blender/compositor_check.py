"""Run inside Blender (``blender -b --factory-startup --python compositor_check.py -- PASSES.exr BG.exr W H OUT``):
opens relit's multi-layer EXR in a compositor node tree as an artist would (an Image node), writes every
socket it shows to OUT/sockets.json, every layer through a File Output node to OUT/passes.exr, and an Alpha
Over of the file's RGBA on BG.exr to OUT/over.exr. tests/test_blender.py compares them with what relit wrote.
"""
import json
import sys
from pathlib import Path

import bpy

passes, background, width, height, out = sys.argv[sys.argv.index("--") + 1:]
out = Path(out)
scene = bpy.context.scene
image = bpy.data.images.load(passes)
plate = bpy.data.images.load(background)
scene.render.resolution_x, scene.render.resolution_y = int(width), int(height)  # a multilayer's size is 0 until used
scene.render.resolution_percentage = 100
scene.render.engine = "CYCLES"
scene.cycles.samples = 1
scene.view_settings.view_transform = "Standard"  # data out as it came in
scene.camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
scene.collection.objects.link(scene.camera)
scene.use_nodes = True
tree = scene.node_tree
tree.nodes.clear()
source = tree.nodes.new("CompositorNodeImage")
source.image = image
sockets = [o.name for o in source.outputs if o.enabled]
(out / "sockets.json").write_text(json.dumps(sockets))

files = tree.nodes.new("CompositorNodeOutputFile")
files.base_path = str(out / "passes")
files.format.file_format = "OPEN_EXR_MULTILAYER"
files.format.color_depth = "32"
files.layer_slots.clear()
for name in sockets:
    files.layer_slots.new(name)
    tree.links.new(source.outputs[name], files.inputs[name])

back = tree.nodes.new("CompositorNodeImage")
back.image = plate
over = tree.nodes.new("CompositorNodeAlphaOver")  # the foreground as OpenEXR defines it: premultiplied
tree.links.new(back.outputs[0], over.inputs[1])
tree.links.new(source.outputs[0], over.inputs[2])  # Combined: the base RGBA
composite = tree.nodes.new("CompositorNodeComposite")
composite.use_alpha = False
tree.links.new(over.outputs["Image"], composite.inputs["Image"])
scene.render.image_settings.file_format = "OPEN_EXR"
scene.render.image_settings.color_depth = "32"
scene.render.filepath = str(out / "over.exr")
bpy.ops.render.render(write_still=True)
