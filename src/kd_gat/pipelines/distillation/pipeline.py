"""Distillation pipeline: one template, instantiated per student under a Kedro namespace.

Namespace `<student>_kd` reads the shared graph stores and parameter groups, the frozen teacher
`<teacher>.model` saved by the training pipeline, and `params:<student>_kd`; it writes
`<student>_kd.model`, `.training_history` and `.learning_curves` like a training namespace.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline, pipeline

from kd_gat.pipelines.training.pipeline import SHARED_INPUTS, SHARED_PARAMS, template

from .nodes import distill_model

# distilled student namespace -> the teacher it learns from
TEACHERS = {"gat_student_kd": "gat_teacher", "vgae_student_kd": "vgae_teacher"}
JOBS = tuple(TEACHERS)


DISTILL = Node(
    distill_model,
    inputs=[
        "graphs_train",
        "graphs_val",
        "teacher",
        "params:job",
        *(f"params:{p}" for p in SHARED_PARAMS),
        "params:distillation",
    ],
    outputs=["model", "training_history"],
    name="distill_model",
)


def create_pipeline(**kwargs) -> Pipeline:
    students = []
    for ns, teacher in TEACHERS.items():
        student = pipeline(
            template(DISTILL),
            namespace=ns,
            inputs=SHARED_INPUTS | {"teacher"},
            parameters={"params:job": f"params:{ns}", "params:distillation": "params:distillation"}
            | {f"params:{p}": f"params:{p}" for p in SHARED_PARAMS},
            tags=["distillation", ns],
        )
        # then point its `teacher` at the training pipeline's artifact
        students.append(pipeline(student, inputs={"teacher": f"{teacher}.model"}))
    return sum(students, Pipeline([]))
