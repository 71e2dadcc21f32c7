/* tests/runtime/test_best_cell.c - the best-cell rule, one for the local
 * trainer, a resume that only scores and the distributed master
 * (runtime/run.h): the lowest score (the highest for inception scores)
 * when both cells compared have one,
 * else the lowest generator fitness; a cell that has not finished an
 * iteration (or a lost one) is no candidate; the final scores, once
 * complete, name the lowest. */
#include "runtime/run.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

static void test_lowest_score_else_lowest_fitness(void **state)
{
    (void)state;
    double score[4] = {3, 1, 2, 5}, fit[4] = {0.1, 0.9, 0.5, 0.2};
    assert_int_equal(lpz_run_best_cell(4, score, fit, NULL, 0), 1);
    int present[4] = {1, 0, 1, 1};
    assert_int_equal(lpz_run_best_cell(4, score, fit, present, 0), 2);
    double none[4] = {NAN, NAN, NAN, NAN};
    assert_int_equal(lpz_run_best_cell(4, none, fit, NULL, 0), 0);
    int nobody[4] = {0};
    assert_int_equal(lpz_run_best_cell(4, score, fit, nobody, 0), -1);
    /* inception scores: the highest */
    assert_int_equal(lpz_run_best_cell(4, score, fit, NULL, 1), 3);
    assert_int_equal(lpz_run_best_cell(4, score, fit, present, 1), 3);
    assert_int_equal(lpz_run_best_cell(4, none, fit, NULL, 1), 0);
}

/* What the trainer calls on its results: cells with 0 iterations are out. */
static void test_result_best_cell_skips_cells_without_an_iteration(void **state)
{
    (void)state;
    lpz_cell_result cells[3];
    memset(cells, 0, sizeof cells);
    double score[3] = {10, 20, 5}, fit[3] = {0.3, 0.2, 0.1};
    int its[3] = {2, 2, 0};
    for (int i = 0; i < 3; i++) {
        cells[i].cell = i;
        cells[i].iterations = its[i];
        cells[i].score = score[i];
        cells[i].best_g_fitness = fit[i];
    }
    lpz_train_result r;
    memset(&r, 0, sizeof r);
    r.n_cells = 3;
    r.cells = cells;
    int best = 99;
    assert_int_equal(lpz_run_result_best_cell(&r, &best), LPZ_OK);
    assert_int_equal(best, 0); /* cell 2's score 5 does not count: it finished no iteration */
    r.score_higher = 1; /* inception scores: the highest of the candidates */
    assert_int_equal(lpz_run_result_best_cell(&r, &best), LPZ_OK);
    assert_int_equal(best, 1);
    r.score_higher = 0;
    cells[0].score = NAN;      /* one side without a score: fitness decides */
    assert_int_equal(lpz_run_result_best_cell(&r, &best), LPZ_OK);
    assert_int_equal(best, 1);
    cells[0].iterations = cells[1].iterations = 0;
    assert_int_equal(lpz_run_result_best_cell(&r, &best), LPZ_OK);
    assert_int_equal(best, -1);
    r.n_cells = 0;
    assert_int_equal(lpz_run_result_best_cell(&r, &best), LPZ_OK);
    assert_int_equal(best, -1);
}

static void test_complete_final_scores_name_the_lowest(void **state)
{
    (void)state;
    lpz_cell_result cells[2];
    memset(cells, 0, sizeof cells);
    lpz_train_result r;
    memset(&r, 0, sizeof r);
    r.n_cells = 2;
    r.cells = cells;
    r.best_cell = 0;
    for (int i = 0; i < 2; i++)
        cells[i].cell = i, cells[i].iterations = 1, cells[i].score = i;
    double final[2] = {7, 6};
    r.final.state = LPZ_FINAL_STOPPED; /* an interrupted scoring changes nothing */
    lpz_run_use_final_scores(&r, final);
    assert_int_equal(r.best_cell, 0);
    assert_true(cells[1].score == 1);
    r.final.state = LPZ_FINAL_DONE;
    r.score_higher = 1; /* trained with the inception score: the final scores are FIDs all the same */
    lpz_run_use_final_scores(&r, final);
    assert_int_equal(r.best_cell, 1);
    assert_true(cells[0].score == 7 && cells[1].score == 6);
    assert_int_equal(r.score_higher, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lowest_score_else_lowest_fitness),
        cmocka_unit_test(test_result_best_cell_skips_cells_without_an_iteration),
        cmocka_unit_test(test_complete_final_scores_name_the_lowest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
