"""Reproduce the paper's claims end to end: sense physics -> errors -> networks -> report.

:func:`run_reproduce` runs seven studies (docs/physics.md section 7), each split into small units of work
that are cached by their configuration (:mod:`ternary_rram.experiments.cache`): a rerun skips what is
done, a killed run resumes. It writes figures (PNG) with the data behind each (CSV/JSON) and
``report.md`` / ``report.html`` (:mod:`ternary_rram.experiments.report`). Each section ends with a
table of claims whose verdicts are computed from the numbers by the criteria stated in the table.

Sense studies (sections 1-4) use the transient PCSA directly (:class:`ternary_rram.circuit.pcsa.PCSA`):

* the VDD x window map: for each VDD one transient run per instance up to the longest window,
  decoded at every window of the grid (the evaluation does not depend on when it is stopped, so one
  run gives every window);
* the chosen operating point: the (VDD, window) of the map with the lowest ternary read error
  (ties to the lower VDD); error rates by type, energy and decision time against VDD at that window,
  at three temperatures and two process corners.

Network studies (sections 5-7) train the [C] VGG with :func:`ternary_rram.nn.train.train`. Section 7
deploys the trained binary and ternary networks on the simulated chip
(:mod:`ternary_rram.experiments.deploy`, :mod:`ternary_rram.chip`): the weights are programmed into
2T2R arrays (devices drawn from the device model) and read through the sense map of the transient
PCSA at each VDD of the map and the window chosen in section 2, sensed again for every inference;
accuracy is that of the network with the weights the chip read, and energy per inference is the chip's
energy model (sense amplifiers and bit lines, plus the digital periphery).

Layout of this package: ``presets.py`` (sizes of a run, shared constants), ``context.py`` (the run
context: cache, seed, progress), ``compute.py`` (every cached unit of work and the numbers derived from
them), ``figures.py`` (figures and their data files), ``claims.py`` (verdicts computed from the numbers),
``sections.py`` (each report section: compute, draw, judge, describe) and ``run.py`` (:func:`run_reproduce`).
"""

from ternary_rram.experiments.reproduce.presets import PRESETS, Preset, train_config
from ternary_rram.experiments.reproduce.run import ReproduceResult, run_reproduce

__all__ = ["PRESETS", "Preset", "ReproduceResult", "run_reproduce", "train_config"]
