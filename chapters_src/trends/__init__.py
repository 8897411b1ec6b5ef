"""New trends of deep learning (source: *Hands-On Deep Learning Architectures with Python*, ch. 8, and *Deep
Learning with TensorFlow and Keras*, 3rd ed., ch. 20 §10):

- :mod:`.bayesian`: mean-field Gaussian (Bayes-by-backprop) softmax regression, the source's Edward model in Keras 3,
  posterior predictive sampling and uncertainty metrics (entropy, AUROC, accuracy after rejection);
- :mod:`.capsules`: squash, routing by agreement, the CapsNet of Sabour et al. (2017), margin loss, decoder;
- :mod:`.siamese`: the source's Siamese network for N-way few-shot face recognition, pair and test-case samplers
  (the source's and corrected ones), the 1-nearest-neighbour baseline;
- :mod:`.settings`: the three chapters' hyperparameters per profile (smoke / standard / full).
"""
