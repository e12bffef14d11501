"""Training of relit's networks on the virtual light stage (extra ``train``: torch). Inference never
imports this package: it runs the exported ONNX files through ONNX Runtime."""
