rule train:
    wildcard_constraints:
        exp=r"fig[0-9][a-z]?|table1",
    input:
        stores=lambda w: train_stores(w.exp, w.model),
    output:
        model=f"{RES}/models/{{exp}}/{{model}}.pt",
        snapshots=directory(f"{RES}/models/{{exp}}/{{model}}.snapshots"),
        history=f"{RES}/models/{{exp}}/{{model}}.history.csv",
    params:
        spec=lambda w: json.dumps(run_spec(w.exp, w.model)),
        resume=lambda w: f"{RES}/resume/{w.exp}/{w.model}",
        device=job_device("train"),
        # threads per process: one process per GPU when the job has several
        threads=lambda w, threads: max(1, threads // max(1, job_class("train")["gpu"])),
    threads: job_threads("train", "a")
    resources:
        **job_resources("train", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/train/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab launch --gpus {resources.gpu} -- python -m mixlab train --spec {params.spec:q} --store {input.stores:q} --out {output.model:q}"
        " --snapshots {output.snapshots:q} --resume-dir {params.resume:q} --device {params.device}"
        " --threads {params.threads} >> {log:q} 2>&1"
