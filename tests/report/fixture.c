/* tests/report/fixture.c - see fixture.h. */
#include "fixture.h"

#include "io/fsutil.h"
#include "io/png.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_text(const char *path, const char *text)
{
    return lpz_write_file_atomic(path, text, strlen(text), NULL);
}

/* Generator fitness of `cell` at `it`: falls with the iteration, and cell
 * FIXTURE_BEST_CELL is lowest. Score likewise. */
static double g_fitness(int cell, int it)
{
    return 1.0 / (it + 1) + (cell == FIXTURE_BEST_CELL ? 0.0 : 0.05 + 0.01 * cell);
}

static double score(int cell, int it)
{
    return 80.0 - 5.0 * it + (cell == FIXTURE_BEST_CELL ? 0.0 : 3.0 + cell);
}

int fixture_write(const char *dir, const fixture_opts *o)
{
    char path[4400];
    int n = o->k * o->k;
    if (lpz_mkdirs(dir, NULL))
        return -1;
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "# lpz: the fully resolved configuration of <script>alert('x')</script> & co\n"
             "general:\n  output_dir: \"/tmp/out\"\n  seed: 1\n  grid_size: %d\n  secret: \"%s\"  # --set\n"
             "trainer:\n  name: lipizzaner_gan\n  n_iterations: %d\n"
             "dataloader:\n  dataset_name: fashion_mnist\n  batch_size: 10\n"
             "network:\n  name: four_layer_perceptron\n",
             o->k, FIXTURE_SECRET, o->with_mixtures ? o->iterations : o->iterations + 2); /* finished or not */
    snprintf(path, sizeof path, "%s/config.yml", dir);
    if (write_text(path, cfg))
        return -1;

    size_t cap = (size_t)(n * o->iterations + 2) * 256 + 256, len = 0;
    char *csv = malloc(cap);
    if (!csv)
        return -1;
    len += (size_t)snprintf(csv + len, cap - len,
                            "iteration,cell,g_loss,d_loss,g_fitness,d_fitness,g_lr,d_lr,score,mixture_weights,seconds\n");
    float img[4 * 8 * 8];
    for (int it = 1; it <= o->iterations; it++)
        for (int c = 0; c < n; c++) {
            char sc[32] = "";
            if (o->with_score)
                snprintf(sc, sizeof sc, "%.6g", score(c, it));
            len += (size_t)snprintf(csv + len, cap - len, "%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%s,%d:0.5;%d:0.5,%.3f\n",
                                    it, c, 0.7 - 0.01 * it, 1.2 - 0.02 * it, g_fitness(c, it), 0.9 - 0.01 * c,
                                    0.0002 + 1e-6 * c, 0.0002 - 1e-6 * it, sc, c, (c + 1) % n, 1.0 + 0.1 * c);
            /* Samples: 4 tiles of 8x8, grey levels that differ per cell and iteration. */
            for (int i = 0; i < 4 * 64; i++)
                img[i] = (float)sin(0.1 * i + c + 0.3 * it);
            snprintf(path, sizeof path, "%s/samples/cell-%d", dir, c);
            if (lpz_mkdirs(path, NULL))
                goto fail;
            snprintf(path, sizeof path, "%s/samples/cell-%d/iteration-%04d.png", dir, c, it);
            if (lpz_png_write_grid(path, img, 4, 1, 8, 8, 0, NULL))
                goto fail;
        }
    if (o->partial_row)
        len += (size_t)snprintf(csv + len, cap - len, "%d,0,0.5,0.4", o->iterations + 1);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    if (lpz_write_file_atomic(path, csv, len, NULL))
        goto fail;
    free(csv);
    csv = NULL;

    for (int c = 0; o->with_mixtures && c < n; c++) {
        char yml[512];
        snprintf(path, sizeof path, "%s/master/%d", dir, c);
        if (lpz_mkdirs(path, NULL))
            return -1;
        snprintf(yml, sizeof yml,
                 "# mixture of cell %d: generator file -> weight\ngenerator-%d.safetensors: 0.75\n"
                 "generator-%d.safetensors: 0.25\n",
                 c, c, (c + 1) % n);
        snprintf(path, sizeof path, "%s/master/%d/mixture.yml", dir, c);
        if (write_text(path, yml))
            return -1;
    }
    return 0;
fail:
    free(csv);
    return -1;
}
