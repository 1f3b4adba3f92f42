"""Regime dynamics: the scenario as a monthly hidden Markov chain (the dynamic model).

The static model asks which scenario best explains all the evidence; the dynamic model lets
the scenario (the *regime*) change from month to month, so it can say how likely each regime
is at the horizon and whether the target regime is reached before it. The transition prior
in analysts' terms lives in :mod:`toolkit.model.dynamics`; the forecast built from these
pieces in :mod:`toolkit.outputs.dynamic_forecast`. One module per concept:

* :mod:`~toolkit.inference.dynamic.emissions` - the evidence on a monthly grid;
* :mod:`~toolkit.inference.dynamic.forward` - the forward algorithm (PyTensor and NumPy);
* :mod:`~toolkit.inference.dynamic.model` - the PyMC model, compiled once per structure.
"""
