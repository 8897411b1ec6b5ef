"""GANs (source ch. 7): vanilla GAN, DCGAN, conditional GAN and InfoGAN in Keras 3.

- :mod:`.data`: MNIST-style digits in [-1, 1] (flattened, padded to 32×32), one-hot labels, batches, the 4×10 grid;
- :mod:`.models`: the generator/discriminator builders with the source's exact layer sizes;
- :mod:`.training`: losses, the shared training step (one discriminator update, two generator updates) and the
  training loop with a checkpoint per epoch and resume;
- :mod:`.metrics`: a digit classifier used as a judge: Fréchet distance, label fidelity, code purity, rotation;
- :mod:`.settings`: one ``ProfileSet`` per model (smoke / standard / full).
"""
