"""Model frontends (ONNX; PyTorch through torch.onnx.export)."""
