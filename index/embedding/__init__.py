"""Embedding models: where the model is, the query and passage encoders (:mod:`.encoders`) and the ONNX Runtime
engine (:mod:`.onnx_encoder`)."""
