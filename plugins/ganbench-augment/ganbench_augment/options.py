"""The options of ``augment``, in a module without torch so that registering the plugin
(``ganbench list``, ``ganbench --help``) stays fast."""

import ganbench

OPTIONS = [
    ganbench.Option("labels_per_class", "int", 100, "labelled real images per class in each draw", minimum=2),
    ganbench.Option("draws", "int", 5, "seeded label draws; figures are means with standard errors over them", minimum=1),
    ganbench.Option("ratio", "float", 1.0, "generated images per labelled real image", minimum=0.0),
    ganbench.Option("max_epochs", "int", 60, "the longest schedule tried on the validation split", minimum=1),
    ganbench.Option("val_fraction", "float", 0.2, "share of each draw's labelled images held out to choose the epochs", minimum=0.01),
    ganbench.Option("batch_size", "int", 50, "real images per step (plus ratio x as many generated)", minimum=1),
    ganbench.Option("width", "int", 16, "classifier width w (conv blocks of w, 2w, 4w channels)", minimum=1,
                    maximum=512),
    ganbench.Option("lr", "float", 1e-3, "Adam learning rate of the classifier", minimum=0.0),
    ganbench.Option("bn_statistics", "str", "real",
                    "batch-norm statistics the classifiers are scored with: 'real' (recomputed on the labelled "
                    "real images) or 'mixed' (the running ones, from batches of real and generated images)",
                    choices=("mixed", "real")),
]
