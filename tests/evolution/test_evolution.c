/* The evolutionary operators behave as ../shared/REFERENCE.md states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "evolution/evolution.h"

static void sort_ints(int *a, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
            int t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
}

static void test_neighbourhood_1x1_is_the_cell_alone(void **state)
{
    (void)state;
    int nb[LPZ_MAX_NEIGHBOURS];
    assert_int_equal(lpz_grid_neighbourhood(1, 0, nb), 1);
    assert_int_equal(nb[0], 0);
}

static void test_neighbourhood_2x2_has_three_cells_without_duplicates(void **state)
{
    (void)state;
    int nb[LPZ_MAX_NEIGHBOURS];
    /* Cell 0 = (0,0): left and right are both cell 1, up and down both 2. */
    assert_int_equal(lpz_grid_neighbourhood(2, 0, nb), 3);
    assert_int_equal(nb[0], 0);
    sort_ints(nb, 3);
    assert_int_equal(nb[1], 1);
    assert_int_equal(nb[2], 2);
    assert_int_equal(lpz_grid_neighbourhood(2, 3, nb), 3);
    assert_int_equal(nb[0], 3);
    sort_ints(nb, 3);
    assert_int_equal(nb[0], 1);
    assert_int_equal(nb[1], 2);
}

static void test_neighbourhood_3x3_is_left_right_up_down_not_transposed(void **state)
{
    (void)state;
    int nb[LPZ_MAX_NEIGHBOURS];
    /* The original's transposed computation gives {0, 4, 5, 6} for cell 1;
     * the intended von Neumann neighbourhood is {0, 2, 4, 7}. */
    assert_int_equal(lpz_grid_neighbourhood(3, 1, nb), 5);
    assert_int_equal(nb[0], 1);
    assert_int_equal(nb[1], 0); /* left */
    assert_int_equal(nb[2], 7); /* up (wraps) */
    assert_int_equal(nb[3], 2); /* right */
    assert_int_equal(nb[4], 4); /* down */
}

static void test_neighbourhood_4x4_every_cell_has_five_distinct_symmetric_neighbours(void **state)
{
    (void)state;
    for (int c = 0; c < 16; c++) {
        int nb[LPZ_MAX_NEIGHBOURS];
        assert_int_equal(lpz_grid_neighbourhood(4, c, nb), 5);
        assert_int_equal(nb[0], c);
        for (int i = 1; i < 5; i++) {
            /* Symmetry: if d is c's neighbour, c is d's. */
            int back[LPZ_MAX_NEIGHBOURS], n = lpz_grid_neighbourhood(4, nb[i], back), found = 0;
            for (int j = 0; j < n; j++)
                found |= back[j] == c;
            assert_true(found);
        }
    }
    int nb[LPZ_MAX_NEIGHBOURS];
    lpz_grid_neighbourhood(4, 5, nb); /* (1,1) */
    assert_int_equal(nb[1], 4);
    assert_int_equal(nb[2], 1);
    assert_int_equal(nb[3], 6);
    assert_int_equal(nb[4], 9);
}

static void test_fitness_modes_combine_losses(void **state)
{
    (void)state;
    double l[] = {0.5, 2.0, 1.0};
    assert_true(fabs(lpz_fitness_combine(l, 3, LPZ_COMBINE_AVERAGE) - 3.5 / 3) < 1e-12);
    assert_true(lpz_fitness_combine(l, 3, LPZ_COMBINE_BEST) == 0.5);
    assert_true(lpz_fitness_combine(l, 3, LPZ_COMBINE_WORSE) == 2.0);
}

static void test_tournament_picks_the_fitter_with_the_right_probability(void **state)
{
    (void)state;
    lpz_rng rng;
    lpz_rng_seed(&rng, 42, 0);
    double fit[] = {3.0, 1.0, 2.0}; /* best is 1, worst is 0 */
    int counts[3] = {0};
    const int trials = 30000;
    for (int t = 0; t < trials; t++)
        counts[lpz_tournament(fit, 3, 2, &rng)]++;
    /* Distinct pairs of 3: the best wins 2 of 3 pairs, the middle 1, the worst none. */
    assert_int_equal(counts[0], 0);
    assert_true(fabs(counts[1] / (double)trials - 2.0 / 3) < 0.02);
    assert_true(fabs(counts[2] / (double)trials - 1.0 / 3) < 0.02);
    /* Every individual of a large neighbourhood population can be drawn
     * (5 cells x 20 individuals = 100). */
    double many[100];
    for (int i = 0; i < 100; i++)
        many[i] = 1.0;
    int seen_high = 0;
    for (int trial = 0; trial < 2000; trial++)
        seen_high |= lpz_tournament(many, 100, 1, &rng) >= 64;
    assert_true(seen_high);
    /* A pair tournament finds the fittest beyond index 64 as often as
     * the 2-of-100 draw says (2%). */
    many[97] = 0.0;
    int won = 0;
    for (int trial = 0; trial < 20000; trial++)
        won += lpz_tournament(many, 100, 2, &rng) == 97;
    assert_true(won > 300 && won < 500);
    /* Tournament of the whole population always returns the best. */
    for (int t = 0; t < 100; t++)
        assert_int_equal(lpz_tournament(fit, 3, 3, &rng), 1);
}

static void test_replacement_replaces_only_when_better(void **state)
{
    (void)state;
    double local[] = {0.2, 0.9, 0.5};
    int lo[3];
    lpz_sort_by_fitness(local, 3, lo);
    assert_int_equal(lo[0], 0);
    assert_int_equal(lo[2], 1);
    double fresh[] = {0.7, 0.3};
    int no[2];
    lpz_sort_by_fitness(fresh, 2, no);
    int pairs[4][2];
    /* One replacement: the worst local (0.9, index 1) by the best new (0.3, index 1). */
    assert_int_equal(lpz_replacement_plan(local, lo, 3, fresh, no, 2, 1, pairs), 1);
    assert_int_equal(pairs[0][0], 1);
    assert_int_equal(pairs[0][1], 1);
    /* Two replacements: 0.5 vs 0.3 and 0.9 vs 0.7 -> both replaced. */
    assert_int_equal(lpz_replacement_plan(local, lo, 3, fresh, no, 2, 2, pairs), 2);
    /* A worse newcomer never replaces. */
    double bad[] = {1.5};
    int bo[1] = {0};
    assert_int_equal(lpz_replacement_plan(local, lo, 3, bad, bo, 1, 1, pairs), 0);
    /* Equal fitness does not replace. */
    double same[] = {0.9};
    assert_int_equal(lpz_replacement_plan(local, lo, 3, same, bo, 1, 1, pairs), 0);
}

static void test_learning_rate_mutation_has_stated_mean_and_spread(void **state)
{
    (void)state;
    lpz_rng rng;
    lpz_rng_seed(&rng, 7, 3);
    const double lr0 = 0.0002, alpha = 0.0001, lr = 1.0; /* lr far from 0: no clipping */
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double d = lpz_mutate_learning_rate(lr, lr0, alpha, 1.0, &rng) - lr;
        sum += d;
        sum2 += d * d;
    }
    double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
    assert_true(fabs(mean - alpha * (-lr0 / 10)) < 4 * alpha * lr0 / sqrt(n));
    assert_true(fabs(sd / (alpha * lr0) - 1.0) < 0.01);
    /* Probability 0.5: about half the draws change the rate. */
    int changed = 0;
    for (int i = 0; i < 20000; i++)
        changed += lpz_mutate_learning_rate(lr, lr0, alpha, 0.5, &rng) != lr;
    assert_true(abs(changed - 10000) < 400);
    /* Never negative. */
    for (int i = 0; i < 1000; i++)
        assert_true(lpz_mutate_learning_rate(0.0, 1.0, 1.0, 1.0, &rng) >= 0.0);
}

static void test_mixture_weights_stay_nonnegative_and_sum_to_one(void **state)
{
    (void)state;
    lpz_rng rng;
    lpz_rng_seed(&rng, 1, 1);
    double w[5] = {0.2, 0.2, 0.2, 0.2, 0.2}, out[5];
    for (int it = 0; it < 2000; it++) {
        lpz_mutate_mixture_weights(w, 5, 0.5, &rng, out);
        double s = 0;
        for (int i = 0; i < 5; i++) {
            assert_true(out[i] >= 0.0);
            s += out[i];
        }
        assert_true(fabs(s - 1.0) < 1e-12);
        memcpy(w, out, sizeof w);
    }
    /* Everything clipped -> uniform, not a division by zero. */
    double neg[2] = {-100.0, -100.0};
    lpz_mutate_mixture_weights(neg, 2, 0.0, &rng, out);
    assert_true(out[0] == 0.5 && out[1] == 0.5);
    /* A huge sigma (mixture_sigma 1e308): the perturbed weights sum past
     * DBL_MAX; they are still weights (they came out all 0 before). */
    int moved = 0;
    for (int it = 0; it < 200; it++) {
        double w3[3] = {0.3, 0.3, 0.4}, o3[3];
        lpz_mutate_mixture_weights(w3, 3, 1e308, &rng, o3);
        double s = 0;
        for (int i = 0; i < 3; i++) {
            assert_true(isfinite(o3[i]) && o3[i] >= 0.0);
            s += o3[i];
        }
        assert_true(fabs(s - 1.0) < 1e-12);
        moved += o3[0] != 1.0 / 3;
    }
    assert_true(moved > 0);
}

static void test_discriminator_skip_rule(void **state)
{
    (void)state;
    for (long b = 0; b < 10; b++)
        assert_true(lpz_discriminator_trains(0, b));
    /* n = 1: every second batch, starting with the first. */
    assert_true(lpz_discriminator_trains(1, 0));
    assert_false(lpz_discriminator_trains(1, 1));
    assert_true(lpz_discriminator_trains(1, 2));
    /* n = 2: batches 0, 3, 6. */
    int count = 0;
    for (long b = 0; b < 9; b++)
        count += lpz_discriminator_trains(2, b);
    assert_int_equal(count, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neighbourhood_1x1_is_the_cell_alone),
        cmocka_unit_test(test_neighbourhood_2x2_has_three_cells_without_duplicates),
        cmocka_unit_test(test_neighbourhood_3x3_is_left_right_up_down_not_transposed),
        cmocka_unit_test(test_neighbourhood_4x4_every_cell_has_five_distinct_symmetric_neighbours),
        cmocka_unit_test(test_fitness_modes_combine_losses),
        cmocka_unit_test(test_tournament_picks_the_fitter_with_the_right_probability),
        cmocka_unit_test(test_replacement_replaces_only_when_better),
        cmocka_unit_test(test_learning_rate_mutation_has_stated_mean_and_spread),
        cmocka_unit_test(test_mixture_weights_stay_nonnegative_and_sum_to_one),
        cmocka_unit_test(test_discriminator_skip_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
