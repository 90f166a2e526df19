"""make_seasonal_panel: shapes, cycles, reproducibility."""

import pandas as pd
import pytest

from regkit.datasets import make_seasonal_panel


def test_seasonal_panel_cycles_and_reproducibility():
    panel = make_seasonal_panel(4, n_weeks=6, random_state=0)
    assert panel.shape == (6 * 168, 4) and panel.index.freqstr == "h"
    pd.testing.assert_frame_equal(panel, make_seasonal_panel(4, n_weeks=6, random_state=0))
    # Standardised, every series shares the shape of its cycle: hour-of-day means
    # correlate across series, and weekends sit lower.
    z = (panel - panel.mean()) / panel.std()
    by_hour = z.groupby(panel.index.hour).mean()
    assert by_hour.corr().to_numpy().min() > 0.7
    weekend = panel.index.day_of_week >= 5
    assert (z[weekend].mean() < z[~weekend].mean()).all()
    flat = make_seasonal_panel(2, n_weeks=4, weekly=False, random_state=0)
    zf = (flat - flat.mean()) / flat.std()
    assert abs(zf[flat.index.day_of_week >= 5].mean()).max() < 0.3
    with pytest.raises(ValueError, match="n_series"):
        make_seasonal_panel(0)
