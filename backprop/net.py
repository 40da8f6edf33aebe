"""Fully connected networks of chapters 5-6: Affine -> activation -> ... -> Affine -> SoftmaxWithLoss.

``TwoLayerNet`` is the book's ``ch05/two_layer_net.py``; ``MultiLayerNet`` allows more hidden
layers. One ``params`` dict (W1, b1, W2, b2, ...) holds every weight; the Affine layers hold the
very same arrays, so an optimizer that updates ``params`` in place updates the layers too.
"""
import numpy as np

from .gradient import numerical_gradient as _numerical_gradient
from .layers import Affine, Relu, Sigmoid, SoftmaxWithLoss

ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}
WEIGHT_INITS = ("std", "xavier", "he")


def init_scale(weight_init, n_in):
    """Standard deviation for a layer with n_in inputs: a number as given, Xavier sqrt(1/n_in), He sqrt(2/n_in)."""
    if isinstance(weight_init, str):
        key = weight_init.lower()
        if key in ("xavier", "sigmoid"):
            return np.sqrt(1.0 / n_in)
        if key in ("he", "relu"):
            return np.sqrt(2.0 / n_in)
        raise ValueError(f"unknown weight init {weight_init!r}: use a number, 'xavier' or 'he'")
    return float(weight_init)


class MultiLayerNet:
    """input -> [Affine -> activation] * len(hidden_sizes) -> Affine -> SoftmaxWithLoss.

    Parameters
    ----------
    input_size, output_size : int
    hidden_sizes : sequence of int, one per hidden layer
    weight_init_std : float (the std of N(0, std^2)), "xavier" or "he"
    activation : "relu" or "sigmoid"
    weight_decay_lambda : L2 strength; loss += 0.5 * lambda * sum(W**2) over all W
    dtype : np.float64 or np.float32 for every parameter
    seed : int or None, or a np.random.Generator, for the initial weights
    """

    def __init__(self, input_size, hidden_sizes, output_size, weight_init_std=0.01,
                 activation="relu", weight_decay_lambda=0.0, dtype=np.float64, seed=None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: use 'relu' or 'sigmoid'")
        self.sizes = [int(input_size), *map(int, hidden_sizes), int(output_size)]
        self.activation = activation
        self.weight_decay_lambda = float(weight_decay_lambda)
        self.dtype = np.dtype(dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

        self.params = {}
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            scale = init_scale(weight_init_std, n_in)
            self.params[f"W{i}"] = (scale * rng.standard_normal((n_in, n_out))).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(n_out, dtype=self.dtype)

        self.layers = {}
        n_affine = len(self.sizes) - 1
        for i in range(1, n_affine + 1):
            # The first Affine has no layer below it, so computing its dx would be wasted work.
            self.layers[f"Affine{i}"] = Affine(self.params[f"W{i}"], self.params[f"b{i}"], need_dx=i > 1)
            if i < n_affine:
                self.layers[f"{ACTIVATIONS[activation].__name__}{i}"] = ACTIVATIONS[activation]()
        self.last_layer = SoftmaxWithLoss()

    def copy(self, dtype=None):
        """An independent MultiLayerNet with this architecture and a copy of the weights (cast to ``dtype``).

        Layers cache per-call state, so a view that runs the net (an inspector, a gradient check) needs its own.
        """
        twin = MultiLayerNet(self.sizes[0], self.sizes[1:-1], self.sizes[-1], activation=self.activation,
                             weight_decay_lambda=self.weight_decay_lambda,
                             dtype=self.dtype if dtype is None else dtype, seed=0)
        return twin.load_params(self.params)

    def load_params(self, params):
        """Copy ``params`` (keys and shapes as self.params) into this net, in place: the Affine layers
        hold these very arrays. Returns self."""
        for key, p in self.params.items():
            p[...] = params[key]
        return self

    @property
    def n_layers(self):
        """Number of Affine layers (2 for TwoLayerNet)."""
        return len(self.sizes) - 1

    def predict(self, x):
        """Scores before softmax, (N, output_size)."""
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def _decay(self):
        if not self.weight_decay_lambda:
            return 0.0
        return 0.5 * self.weight_decay_lambda * sum(
            float(np.sum(self.params[f"W{i}"] ** 2, dtype=np.float64)) for i in range(1, self.n_layers + 1)
        )

    def loss(self, x, t):
        """Mean cross-entropy (plus weight decay) on inputs x (N, D) and targets t (labels or one-hot)."""
        return self.last_layer.forward(self.predict(x), t) + self._decay()

    def accuracy(self, x, t, batch_size=2000, scale=None):
        """Fraction of x whose highest score is the target (see ``count_correct``)."""
        return self.count_correct(x, t, batch_size, scale) / x.shape[0]

    def count_correct(self, x, t, batch_size=2000, scale=None):
        """How many rows of x have the target t (labels or one-hot) as their highest score.

        Evaluated in chunks of ``batch_size`` to bound memory; with ``scale`` each chunk is first
        converted to this net's dtype and multiplied by it (uint8 pixels * 1/255, as the Trainer feeds them).
        """
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        correct = 0
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size]
            if scale is not None:
                xb = xb.astype(self.dtype) * self.dtype.type(scale)
            correct += int(np.sum(np.argmax(self.predict(xb), axis=1) == t[start:start + batch_size]))
        return correct

    def loss_and_gradient(self, x, t):
        """One forward and one backward pass: (loss, grads) with grads keyed like params."""
        loss = self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        lam = self.weight_decay_lambda
        for i in range(1, self.n_layers + 1):
            affine = self.layers[f"Affine{i}"]
            grads[f"W{i}"] = affine.dW + lam * affine.W if lam else affine.dW
            grads[f"b{i}"] = affine.db
        return loss, grads

    def gradient(self, x, t):
        """Gradients of loss by backpropagation, keyed like params (book API)."""
        return self.loss_and_gradient(x, t)[1]

    def numerical_gradient(self, x, t, h=1e-4):
        """Gradients of loss by central differences, keyed like params (book API, slow: one loop per entry)."""
        loss_w = lambda _: self.loss(x, t)  # noqa: E731 - the book's idiom: f ignores its argument
        return {key: _numerical_gradient(loss_w, p, h=h) for key, p in self.params.items()}


class TwoLayerNet(MultiLayerNet):
    """The book's two-layer net: Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, **kwargs):
        super().__init__(input_size, [hidden_size], output_size, weight_init_std=weight_init_std, **kwargs)
