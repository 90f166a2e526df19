"""Machine unlearning: remove the influence of training rows from fitted regressors.

Exact methods: :class:`UnlearnableRidge` (downdates its sufficient statistics),
:class:`SISARegressor` (retrains only the shards that held the rows) and
:class:`RetrainUnlearner` (the gold standard, for any regressor). Every unlearner
shares the :class:`Unlearner` interface,
``unlearn(estimator, X_forget, y_forget, X_retain, y_retain) -> new estimator``,
and :func:`unlearning_report` compares the resulting models with the retrained one
(errors, output distance, membership inference, anamnesis index).
"""

from regkit.unlearning._anamnesis import anamnesis_index, partial_fit_step, relearn_steps
from regkit.unlearning._base import Rows, Unlearner
from regkit.unlearning._blindspot import BlindspotUnlearner
from regkit.unlearning._exact import ExactUnlearner
from regkit.unlearning._finetune import FineTuneUnlearner
from regkit.unlearning._forecasting import unlearn_time_window
from regkit.unlearning._gaussian import GaussianUnlearner
from regkit.unlearning._metrics import (
    MembershipInference,
    membership_inference,
    prediction_wasserstein,
)
from regkit.unlearning._report import REPORT_COLUMNS, run_unlearners, unlearning_report
from regkit.unlearning._retrain import RetrainUnlearner
from regkit.unlearning._ridge import UnlearnableRidge
from regkit.unlearning._sisa import SISARegressor
from regkit.unlearning._statistics import RowStatistics

__all__ = [
    "REPORT_COLUMNS",
    "BlindspotUnlearner",
    "ExactUnlearner",
    "FineTuneUnlearner",
    "GaussianUnlearner",
    "MembershipInference",
    "RetrainUnlearner",
    "RowStatistics",
    "Rows",
    "SISARegressor",
    "UnlearnableRidge",
    "Unlearner",
    "anamnesis_index",
    "membership_inference",
    "partial_fit_step",
    "prediction_wasserstein",
    "relearn_steps",
    "run_unlearners",
    "unlearn_time_window",
    "unlearning_report",
]
