"""Fusion pipeline: one template, instantiated per detector pair (teachers; distilled students)."""

from kedro.pipeline import Node, Pipeline, pipeline

from .nodes import fit_fusion

# namespace -> (VGAE model, GAT model) whose scoring outputs it fuses
PAIRS = {
    "fusion_teacher": ("vgae_teacher", "gat_teacher"),
    "fusion_student": ("vgae_student_kd", "gat_student_kd"),
}


def create_pipeline(**kwargs) -> Pipeline:
    template = Pipeline(
        [
            Node(
                fit_fusion,
                inputs=[
                    "vgae_outputs",
                    "gat_outputs",
                    "params:job",
                    "params:fusion",
                    "params:evaluation",
                ],
                outputs=["window_scores", "summary", "model"],
                name="fit_fusion",
            )
        ]
    )
    return sum(
        (
            pipeline(
                template,
                namespace=ns,
                inputs={
                    "vgae_outputs": f"{vgae}.window_outputs",
                    "gat_outputs": f"{gat}.window_outputs",
                },
                parameters={
                    "params:job": f"params:{ns}",
                    "params:fusion": "params:fusion",
                    "params:evaluation": "params:evaluation",
                },
                tags=["fusion", ns],
            )
            for ns, (vgae, gat) in PAIRS.items()
        ),
        Pipeline([]),
    )
