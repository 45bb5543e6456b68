rule train_fig1:
    input:
        store=f"{RES}/store/train",
    output:
        f"{RES}/models/fig1/p{{p}}.pt",
    params:
        spec=lambda w: json.dumps(run_spec(w.p)),
        resume=lambda w: f"{RES}/resume/fig1/p{w.p}",
        device="cuda" if P["resources"]["train_gpu"] > 0 else "cpu",
    threads: 1
    resources:
        gpu=train_resources("train_gpu"),
        mem_mb=train_resources("train_mem_mb"),
        runtime=train_resources("train_runtime_min"),
    conda:
        ENV
    log:
        f"{RES}/logs/train/fig1/p{{p}}.log",
    shell:
        "mixlab train --spec '{params.spec}' --store {input.store:q} --out {output:q}"
        " --resume-dir {params.resume:q} --device {params.device} --threads {threads} >> {log:q} 2>&1"
