"""The Kaplan-Meier picture: time to relapse among responders, by indication.

matplotlib runs on the Agg backend (no display needed: a server, a cron job, CI).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.reports.figures import TimeTable

#: Short names label the at-risk rows; the legend spells them out.
SHORT = {
    "dlrpn": "DLRPN",
    "diabetic_symmetric_polyneuropathy": "Symmetric DPN",
    "lumbosacral_plexus_neuritis": "Plexus neuritis",
    "ici_neuropathy": "ICI neuropathy",
    "other": "Other",
}
LONG = {
    "dlrpn": "DLRPN (diabetic lumbosacral\nradiculoplexus neuropathy)",
    "diabetic_symmetric_polyneuropathy": "Diabetic symmetric polyneuropathy",
    "lumbosacral_plexus_neuritis": "Lumbosacral plexus neuritis",
    "ici_neuropathy": "Immune-checkpoint-inhibitor\nneuropathy",
    "other": "Other indications",
}


def _legend(indication: str, table: TimeTable) -> str:
    name = LONG.get(indication, indication)
    return f"{name}\n{table.courses} responders, {table.relapses} relapsed"


def write_km_plot(times: dict[str, TimeTable], path: Path, *, as_of: date) -> None:
    """Writes a PNG: one survival curve per indication with numbers at risk below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lifelines.plotting import add_at_risk_counts

    from workflow.reports.survival import fit

    figure, axes = plt.subplots(figsize=(10, 6.5), dpi=120)
    try:
        fitters, legends = [], []
        for indication, table in times.items():
            label = SHORT.get(indication, indication)
            fitter = fit(table.months, table.relapsed, label=label, weights=table.weights)
            fitter.plot_survival_function(ax=axes, ci_show=False, show_censors=True)
            fitters.append(fitter)
            legends.append(_legend(indication, table))
        if fitters:
            handles, _ = axes.get_legend_handles_labels()
            axes.legend(
                handles,
                legends,
                loc="upper left",
                bbox_to_anchor=(1.02, 1.0),
                fontsize=8.5,
                title="Indication",
                labelspacing=1.0,
                frameon=False,
            )
            add_at_risk_counts(*fitters, ax=axes, rows_to_show=["At risk"])
        else:
            axes.text(0.5, 0.5, "No responders yet", ha="center", va="center", fontsize=14)
        axes.set_ylim(0, 1.05)
        axes.set_xlim(left=0)
        axes.set_xlabel("Months since the last infusion of the course (1 month = 30.4375 days)")
        axes.set_ylabel("Proportion of responders still in remission")
        figure.suptitle(
            "Time to relapse after a responding IVIG course, by indication",
            fontsize=13,
            fontweight="bold",
        )
        axes.set_title(
            "Responders: lowest pain VAS within 60 days of the last infusion at most 70 % of "
            "baseline.\nCourses closed or still in remission are censored (+). "
            f"Data as of {as_of}.",
            fontsize=8.5,
            color="dimgray",
        )
        figure.tight_layout()
        figure.savefig(path, format="png", bbox_inches="tight")
    finally:
        plt.close(figure)
