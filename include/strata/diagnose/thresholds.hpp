// Every threshold diagnose and audit use, named and explained in one place.
// They come from reasoning about what noise and healthy training look like
// in general (epoch means over hundreds of batches, validation sets of
// thousands of samples, classifiers that can fit their training data), not
// from tuning on one data set; the reason is next to each value.
#pragma once

#include <cstddef>

namespace strata::diagnosis {

// ---- Reading a curve -------------------------------------------------------

// The end of a run is read over its last epochs (medians, a fitted slope), so
// one noisy epoch cannot decide a finding.
inline constexpr std::size_t tail_epochs = 3;

// ---- Overfitting -----------------------------------------------------------

// The validation loss at the end (the lower of the last two epochs after its
// minimum) above the minimum, relative. A validation mean over a few thousand
// samples moves a few percent between epochs by chance; 5% is worth a note,
// 15% sustained is several such noise widths and means the model is getting
// worse on new data.
inline constexpr double overfit_rise_info = 0.05;
inline constexpr double overfit_rise_warning = 0.15;
// Meanwhile the training loss must still fall by this much (relative) from
// the minimum's epoch to the end: if it rises too, training is unstable, which
// is a different problem.
inline constexpr double overfit_train_fall = 0.02;
// Training minus validation accuracy at the end. Training accuracy is a
// running mean with dropout and augmentation on, which biases it down, so a
// gap of 10 points is more than those explain: the model fits samples it has
// seen far better than new ones.
inline constexpr double overfit_gap_info = 0.05;
inline constexpr double overfit_gap_warning = 0.10;
// Fewer validation epochs than this tell no trend.
inline constexpr std::size_t overfit_min_epochs = 3;

// ---- Underfitting ----------------------------------------------------------

// Training accuracy as "skill": 0 at chance (1/classes), 1 at perfect. A
// network with enough capacity fits its own training data far beyond 4/5 of
// the way (it can even memorise random labels, Zhang et al. 2017); a fit
// that plateaus below that is limited by capacity, optimisation, too strong
// regularisation or noisy labels. For 10 classes the bar is 82% accuracy,
// for 2 classes 90%; with the number of classes unknown, chance is taken as
// 0, so the bar is 80%.
inline constexpr double underfit_skill = 0.8;
// A plateau: the training loss falls by less than 2% per epoch (median over
// the tail). Below that pace, more epochs of the same run change little.
inline constexpr double plateau_decrease = 0.02;
// Training and validation accuracy this close (training above validation by
// at most this much): the model does as badly on data it has seen as on new
// data, so it is not memorising.
inline constexpr double underfit_gap = 0.05;

// Validation accuracy above training accuracy by 10 points or more, with
// training accuracy below the underfitting bar: dropout and augmentation
// cost training accuracy a few points, not ten; training labels that are
// partly wrong (and validation labels that are right) do. Reported as
// likely mislabelled samples, and underfitting is then not reported: more
// capacity would only memorise the wrong labels.
inline constexpr double label_noise_gap = 0.10;

// ---- Learning rate too high -----------------------------------------------

// The training loss rising above its best so far by more than 5% of the first
// epoch's loss (the run's scale, so that wobbles of a loss already near 0 do
// not count). An epoch's mean loss averages many batches and healthy
// training lowers it nearly every epoch, so such a rise means steps that
// overshoot.
inline constexpr double loss_rise = 0.05;
// Oscillation: the training loss turns around (down-up or up-down) with both
// steps larger than 5% of the first epoch's loss, at least twice.
inline constexpr double oscillation_step = 0.05;
inline constexpr std::size_t oscillation_reversals = 2;
// The first epoch's mean loss 1.5 times a uniform guess's (log classes): the
// first steps blew the outputs up (random initialisation starts near 1x).
inline constexpr double blowup_chance_factor = 1.5;

// One optimizer step changing the kernels by more than a tenth of their norm
// (diagnostics' update ratio, median over the kernels): the weights are
// rewritten within ten steps. The usual rule of thumb puts a healthy ratio
// near 1e-3 (CS231n); 0.1 is two orders of magnitude above it.
inline constexpr double update_ratio_high = 0.1;

// ---- Learning rate too low ------------------------------------------------

// Not converged: the training loss still at least half of a uniform guess's
// (log classes; about 60% accuracy for 10 classes). Without the number of
// classes: less than 30% below the first epoch's loss.
inline constexpr double unconverged_chance_fraction = 0.5;
inline constexpr double unconverged_total_decrease = 0.3;
// Slow: the median relative decrease per epoch under 5%, i.e. at least 14
// epochs to halve the loss, where a well-set rate halves a loss near chance
// within an epoch or two.
inline constexpr double slow_decrease = 0.05;
// Steady: at least 2/3 of the epochs lower the loss, and the second half of
// the run decreases at least half as fast as the first (the curve is not
// bending into a plateau, which is underfitting).
inline constexpr double steady_fraction = 2.0 / 3.0;
inline constexpr double steady_pace = 0.5;

// ---- Too few epochs --------------------------------------------------------

// The validation loss still falling at the end, by its fitted slope over the
// last `improvement_window` epochs relative to its level: 1% per epoch is a
// note, 3% per epoch means a few more epochs would still pay. Five points
// keep the slope's noise (validation noise of ~3% gives a slope error of
// ~1%) below the warning level.
inline constexpr double still_improving_info = 0.01;
inline constexpr double still_improving_warning = 0.03;
inline constexpr std::size_t improvement_window = 5;

// ---- Class imbalance -------------------------------------------------------

// Largest over smallest training class count. At 3:1 a note; at 10:1 the
// rare class gets a tenth of the gradient and its prior shifts the logits by
// log 10 = 2.3, enough to flip most borderline predictions (Buda et al. 2018
// see accuracy fall steadily from such ratios on).
inline constexpr double imbalance_ratio_info = 3;
inline constexpr double imbalance_ratio_warning = 10;
// A class whose validation recall is under 60% of the mean recall is left
// behind; classes with fewer validation samples than min_class_support are
// too noisy to judge (one sample moves their recall by 5 points or more).
inline constexpr double recall_ratio_warning = 0.6;
// Without class counts, a class left behind is taken as a rare one only if
// the model also predicts it for fewer than half as many samples as it has:
// imbalance biases predictions away from a class, a hard class (shirts among
// T-shirts and pullovers) is confused both ways.
inline constexpr double rarely_predicted = 0.5;
inline constexpr std::size_t min_class_support = 20;

// ---- Likely mislabelled samples -------------------------------------------

// A sample's loss above median + 3 x MAD (the MAD scaled by 1.4826 to match a
// standard deviation: the usual robust "3 sigma" outlier rule, Leys et al.
// 2013), and above log(classes), where the label gets less probability than
// a uniform guess would give it. A trained model rarely does that for more
// than a few percent of its own training samples; 5% or more points at noisy
// labels (or a model that underfits).
inline constexpr double mislabel_mad_factor = 3;
inline constexpr double mad_to_sigma = 1.4826;
inline constexpr double mislabel_fraction_warning = 0.05;

// ---- Units and gradients (the diagnostics callback's records) --------------

// A ReLU unit that outputs 0 for every one of a few hundred probe samples
// gets no gradient and never recovers. A live unit with a He-initialised
// kernel is positive for about half of its inputs, so a random unit missing
// all 256 by chance is out of the question. Trained layers do lose some:
// the reference network's 128-unit dense layer (before dropout 0.5) ends
// healthy runs with 25-42% of its units dead, so a note starts at 40% and a
// warning at 60% (the layer works at under half its width); a whole layer
// dead passes no signal at all: an error.
inline constexpr double dead_fraction_info = 0.4;
inline constexpr double dead_fraction_warning = 0.6;
// Sigmoid or tanh outputs within diagnostics' saturation_margin of an
// asymptote pass back under 4% of the peak gradient. A quarter of a layer's
// outputs there is a note, half a warning: that layer has mostly stopped learning.
inline constexpr double saturated_fraction_info = 0.25;
inline constexpr double saturated_fraction_warning = 0.5;
// How hard one step pulls at the first kernel relative to the last, each as
// ||gradient|| / ||weights|| (median over epochs). He or Glorot
// initialisation and batch_norm keep layers within about two orders of
// magnitude of each other; a factor of 1000 either way means the first
// layers barely train (vanishing) or are thrown around (exploding).
inline constexpr double gradient_ratio_vanishing = 1e-3;
inline constexpr double gradient_ratio_exploding = 1e3;
// The total gradient norm growing 100-fold from the first probed epoch to the
// last: healthy training shrinks or keeps it as the loss falls.
inline constexpr double gradient_growth_exploding = 100;

// ---- Architecture ----------------------------------------------------------

// A structural cause outranks the symptoms it produces (overfitting, a low
// score): its findings sort above other warnings by this score.
inline constexpr double structural_score = 5;

// ---- Data audit ------------------------------------------------------------

// Blank or constant: pixel standard deviation under 1% of the expected range.
// Real photographs and renderings, even faint ones, vary by far more (the
// faintest Fashion-MNIST image has 6.5%).
inline constexpr double blank_std_fraction = 0.01;
// Near duplicates: images compared in grey on a 16 x 16 grid of area means
// (coarse enough to average away pixel noise, fine enough to keep shape);
// after matching brightness and contrast (least squares, both ways), the RMS
// difference at most 3% of the pixel range (about 8 grey levels of 255).
// Noise of 3% per pixel, a brightness shift of 0.1 with clipping or a
// contrast change stay below it; distinct photographs of similar objects
// differ by far more (their nearest neighbour's median is 9%).
inline constexpr std::size_t near_duplicate_grid = 16;
inline constexpr double near_duplicate_residual = 0.03;
// And the grids correlate at 0.95 or more, i.e. the difference is under a
// third of the image's own contrast: for faint images an absolute 3% alone
// would pair different images that are merely equally faint.
inline constexpr double near_duplicate_correlation = 0.95;
// Test images with a copy in training data (exact or near): 1% or more of
// the test set can move test accuracy by a point, the size of differences
// models are compared by: an error. Natural near duplicates (the same
// product photographed twice) are rarer (0.3% in Fashion-MNIST).
inline constexpr double leak_fraction_error = 0.01;
// Training images that repeat an earlier one: 5% or more weighs those
// samples double and, if validation is split from training data, leaks.
inline constexpr double duplicate_fraction_warning = 0.05;
// Out-of-range pixels in 10% or more of the images: the data is on another
// scale (0..255 instead of 0..1, or normalised twice).
inline constexpr double out_of_range_fraction_error = 0.10;

}  // namespace strata::diagnosis
