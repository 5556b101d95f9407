"""The options of ``wgan-gp``, in a module without torch so that registering the plugin
(``ganbench list``, ``ganbench --help``) stays fast."""

import ganbench

NORMS = ("layer", "none")

OPTIONS = [
    ganbench.Option("width", "int", 64, "base width w: channels of the critic's first and G's last conv layer", minimum=1,
                    maximum=1024),
    ganbench.Option("nz", "int", 128, "latent size (the paper: 128), latent N(0, 1)", minimum=1, maximum=4096),
    ganbench.Option("image_size", "int", 32, "network size: 32 (MNIST padded, CIFAR-10, SVHN) or 64", choices=(32, 64)),
    ganbench.Option("norm", "str", "layer", "critic normalisation: layer (the paper's choice) or none; never batch norm", choices=NORMS),
    ganbench.Option("gp_lambda", "float", 10.0, "gradient-penalty weight lambda (the paper: 10)", minimum=0.0),
    ganbench.Option("n_critic", "int", 5, "critic updates per generator update (the paper: 5)", minimum=1,
                    maximum=100),
    ganbench.Option("lr", "float", 1e-4, "Adam learning rate, both networks (the paper: 0.0001)", minimum=0.0),
    ganbench.Option("beta1", "float", 0.0, "Adam beta1 (the paper: 0)", minimum=0.0),
    ganbench.Option("beta2", "float", 0.9, "Adam beta2 (the paper: 0.9)", minimum=0.0),
    ganbench.Option("guard_factor", "float", 10.0,
                    "end the run as diverged when |Wasserstein estimate| exceeds this many times the largest distance "
                    "between two images (0 = off)", minimum=0.0),
]
