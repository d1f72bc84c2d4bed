"""The accuracy model: features of a design (:mod:`~cosearch.predictor.features`), a model of trained
accuracy fitted on them (:mod:`~cosearch.predictor.model`) and the trained designs it is fitted on
(:mod:`~cosearch.predictor.calibration`). The ``accuracy_model`` evaluator puts them in the loop."""
