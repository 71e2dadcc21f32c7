/* core/plugin/registry.c - see registry.h. */
#include "plugin/registry.h"

#include <lpz/dataloader.h>
#include <lpz/log.h>
#include <lpz/network.h>

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LPZ_PLUGIN_INSTALL_REL
#define LPZ_PLUGIN_INSTALL_REL "lib/lpz/plugins"
#endif

static int lpz_is_dir_path(const char *p)
{
    struct stat st;
    return p[0] && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

#ifndef LPZ_PLUGIN_INSTALL_DIR
#define LPZ_PLUGIN_INSTALL_DIR "/usr/local/lib/lpz/plugins"
#endif

const char *lpz_plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case LPZ_PLUGIN_DATALOADER: return "dataloader";
    case LPZ_PLUGIN_NETWORK: return "network";
    default: return "unknown";
    }
}

static int add_dir(lpz_registry *reg, const char *given)
{
    if (!given || !given[0])
        return 0;
    /* Folders are compared by their real path, so one folder named two
     * ways is searched once. */
    char real[PATH_MAX];
    const char *dir = realpath(given, real) ? real : given;
    for (int i = 0; i < reg->n_dirs; i++)
        if (strcmp(reg->dirs[i], dir) == 0)
            return 0;
    char **dirs = realloc(reg->dirs, (size_t)(reg->n_dirs + 1) * sizeof *dirs);
    if (!dirs)
        return -1;
    reg->dirs = dirs;
    if (!(reg->dirs[reg->n_dirs] = strdup(dir)))
        return -1;
    reg->n_dirs++;
    return 0;
}

/* <dir of the running executable>/../<rel>, resolved; "" when unknown. */
static void exe_relative_dir(const char *rel, char *out, size_t size)
{
    char exe[PATH_MAX - 16];
    out[0] = '\0';
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(out, size, "%s/../%s", exe, rel);
    char real[PATH_MAX];
    if (realpath(out, real))
        snprintf(out, size, "%s", real);
}

int lpz_plugin_check(const lpz_plugin *d, char *problem, size_t size)
{
    if (d->abi_major != LPZ_ABI_MAJOR) {
        snprintf(problem, size,
                 "built for plugin ABI %u.%u, but this lpz has ABI %d.%d (rebuild the plugin against this "
                 "lpz's SDK)",
                 d->abi_major, d->abi_minor, LPZ_ABI_MAJOR, LPZ_ABI_MINOR);
        return 0;
    }
    if (d->kind != LPZ_PLUGIN_DATALOADER && d->kind != LPZ_PLUGIN_NETWORK) {
        snprintf(problem, size, "descriptor has unknown kind %u", d->kind);
        return 0;
    }
    if (!d->name || !d->name[0]) {
        snprintf(problem, size, "descriptor has no name");
        return 0;
    }
    if (!d->ops) {
        snprintf(problem, size, "descriptor has no function table");
        return 0;
    }
    size_t have = *(const size_t *)d->ops;
    if (d->kind == LPZ_PLUGIN_DATALOADER) {
        const lpz_dataloader_ops *o = d->ops;
        if (have < offsetof(lpz_dataloader_ops, label) || !o->open || !o->close || !o->read) {
            snprintf(problem, size, "dataloader function table is incomplete (open, close and read are required)");
            return 0;
        }
    } else {
        const lpz_network_ops *o = d->ops;
        if (have < offsetof(lpz_network_ops, init) || !o->configure || !o->release || !o->build) {
            snprintf(problem, size,
                     "network function table is incomplete (configure, release and build are required)");
            return 0;
        }
    }
    return 1;
}

static int name_matches(const lpz_plugin *d, const char *name)
{
    if (strcmp(d->name, name) == 0)
        return 1;
    if (d->aliases)
        for (const char *const *a = d->aliases; *a; a++)
            if (strcmp(*a, name) == 0)
                return 1;
    return 0;
}

static int is_shared_object_name(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A shared object cut short (an interrupted copy or install): the loader
 * maps its segments and the first touch past the end of the file is a
 * SIGBUS inside dlopen, which killed every command that loads plugins. 1
 * (with why) when a loadable segment of this ELF file lies past its end;
 * 0 otherwise, other problems being dlopen's to say. */
static int elf_cut_short(const char *path, char *why, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return 0;
    struct stat st;
    union {
        Elf64_Ehdr e64;
        Elf32_Ehdr e32;
    } eh;
    int cut = 0, damaged = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(fd, &eh, sizeof eh, 0) < (ssize_t)sizeof eh.e32 ||
        memcmp(eh.e64.e_ident, ELFMAG, SELFMAG) != 0 ||
        (eh.e64.e_ident[EI_CLASS] != ELFCLASS64 && eh.e64.e_ident[EI_CLASS] != ELFCLASS32)) {
        close(fd);
        return 0;
    }
    int is64 = eh.e64.e_ident[EI_CLASS] == ELFCLASS64;
    uint64_t phoff = is64 ? eh.e64.e_phoff : eh.e32.e_phoff, phnum = is64 ? eh.e64.e_phnum : eh.e32.e_phnum;
    uint64_t phsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if ((is64 ? eh.e64.e_phentsize : eh.e32.e_phentsize) != phsize) {
        close(fd);
        return 0; /* dlopen says what is wrong */
    }
    uint64_t fsize = (uint64_t)st.st_size, need = phoff + phnum * phsize;
    if (phoff > fsize)
        damaged = 1;
    else if (need > fsize)
        cut = 1;
    for (uint64_t i = 0; !cut && !damaged && i < phnum; i++) {
        union {
            Elf64_Phdr p64;
            Elf32_Phdr p32;
        } ph;
        if (pread(fd, &ph, phsize, (off_t)(phoff + i * phsize)) != (ssize_t)phsize) {
            cut = 1;
            continue;
        }
        uint64_t type = is64 ? ph.p64.p_type : ph.p32.p_type, off = is64 ? ph.p64.p_offset : ph.p32.p_offset,
                 filesz = is64 ? ph.p64.p_filesz : ph.p32.p_filesz;
        if (type != PT_LOAD)
            continue;
        if (off > fsize && (off > ((uint64_t)1 << 40) || filesz > ((uint64_t)1 << 40)))
            damaged = 1; /* an offset no file has: a damaged header, not a short file */
        else if (off > fsize || filesz > fsize - off)
            need = off + filesz, cut = 1;
    }
    close(fd);
    if (damaged)
        snprintf(why, size, "damaged ELF header: its segments lie beyond any file size (a damaged or half-written "
                 "file? copy or build it again)");
    else if (cut)
        snprintf(why, size, "the file is cut short: its segments need %llu bytes, it holds %llu (an interrupted copy "
                 "or install? copy or build it again)", (unsigned long long)need, (unsigned long long)fsize);
    return cut || damaged;
}

static int load_file(lpz_registry *reg, const char *path)
{
    lpz_plugin_entry *e = realloc(reg->entries, (size_t)(reg->n_entries + 1) * sizeof *e);
    if (!e)
        return -1;
    reg->entries = e;
    e = &reg->entries[reg->n_entries];
    memset(e, 0, sizeof *e);
    e->shadowed_by = -1;
    if (!(e->path = strdup(path)))
        return -1;
    reg->n_entries++;

    if (elf_cut_short(path, e->problem, sizeof e->problem))
        return 0;
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(e->problem, sizeof e->problem, "not a loadable shared object: %s", why ? why : "unknown");
        return 0;
    }
    const lpz_plugin *d = dlsym(h, LPZ_PLUGIN_SYMBOL);
    if (!d) {
        snprintf(e->problem, sizeof e->problem,
                 "no '%s' descriptor symbol: not an lpz plugin (define one with LPZ_PLUGIN_DEFINE)",
                 LPZ_PLUGIN_SYMBOL);
        dlclose(h);
        return 0;
    }
    if (!lpz_plugin_check(d, e->problem, sizeof e->problem)) {
        dlclose(h);
        return 0;
    }
    e->handle = h;
    e->desc = d;
    /* The first usable plugin of a kind and name wins; an alias answered
     * by an earlier plugin is that one's (lpz_registry_find takes the first
     * match), which lpz plugins says. */
    for (int i = 0; i < reg->n_entries - 1; i++) {
        const lpz_plugin *o = reg->entries[i].desc;
        if (o && o->kind == d->kind && reg->entries[i].shadowed_by < 0 && name_matches(o, d->name)) {
            e->shadowed_by = i;
            snprintf(e->problem, sizeof e->problem, "shadowed by %s", reg->entries[i].path);
            break;
        }
    }
    size_t an = 0;
    for (const char *const *a = d->aliases; e->shadowed_by < 0 && a && *a; a++)
        for (int i = 0; i < reg->n_entries - 1; i++) {
            const lpz_plugin *o = reg->entries[i].desc;
            if (o && o->kind == d->kind && reg->entries[i].shadowed_by < 0 && name_matches(o, *a)) {
                if (an < sizeof e->alias_note)
                    an += (size_t)snprintf(e->alias_note + an, sizeof e->alias_note - an, "%salias %s shadowed by %s",
                                           an ? "; " : "", *a, reg->entries[i].path);
                break;
            }
        }
    return 0;
}

static int scan_dir(lpz_registry *reg, const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0; /* a missing folder in the search path is normal */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dp))) {
        if (!is_shared_object_name(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(dp);
    if (rc == 0 && n)
        qsort(names, n, sizeof *names, cmp_str); /* a stable, predictable order */
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = load_file(reg, path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int lpz_registry_open(lpz_registry *reg, const char *const *extra_dirs, int n_extra, lpz_error *err)
{
    memset(reg, 0, sizeof *reg);
    int bad = 0;
    for (int i = 0; i < n_extra && !bad; i++) {
        struct stat st;
        if (!lpz_is_dir_path(extra_dirs[i])) /* a typo would otherwise only show as a plugin not found */
            lpz_log(LPZ_LOG_WARN, "--plugin-dir %s: %s", extra_dirs[i],
                    extra_dirs[i][0] && stat(extra_dirs[i], &st) == 0 ? "not a folder (give the folder that holds "
                                                                       "the plugins' .so files)"
                                                                     : "no such folder");
        bad = add_dir(reg, extra_dirs[i]);
    }
    const char *env = getenv("LPZ_PLUGIN_PATH");
    if (env && !bad) {
        char *copy = strdup(env), *save = NULL;
        if (!copy)
            bad = -1;
        for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok && !bad; tok = strtok_r(NULL, ":", &save))
            bad = add_dir(reg, tok);
        free(copy);
    }
    /* The install folder: next to the executable (a relocated install),
     * then where it was configured to go; then the build tree's plugins/. */
    char dir[PATH_MAX];
    exe_relative_dir(LPZ_PLUGIN_INSTALL_REL, dir, sizeof dir);
    if (!bad && lpz_is_dir_path(dir))
        bad = add_dir(reg, dir);
    if (!bad)
        bad = add_dir(reg, LPZ_PLUGIN_INSTALL_DIR);
    exe_relative_dir("plugins", dir, sizeof dir);
    if (!bad)
        bad = add_dir(reg, dir);
    for (int i = 0; i < reg->n_dirs && !bad; i++)
        bad = scan_dir(reg, reg->dirs[i]);
    if (bad) {
        lpz_registry_close(reg);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory while loading plugins");
    }
    return LPZ_OK;
}

int lpz_registry_find(const lpz_registry *reg, uint32_t kind, const char *name, const lpz_plugin **out,
                      lpz_error *err)
{
    for (int i = 0; i < reg->n_entries; i++) {
        const lpz_plugin_entry *e = &reg->entries[i];
        if (e->desc && e->shadowed_by < 0 && e->desc->kind == kind && name_matches(e->desc, name)) {
            *out = e->desc;
            return LPZ_OK;
        }
    }
    char known[1024] = "", dirs[2048] = "";
    size_t kl = 0, dl = 0;
    for (int i = 0; i < reg->n_entries; i++) {
        const lpz_plugin_entry *e = &reg->entries[i];
        if (e->desc && e->shadowed_by < 0 && e->desc->kind == kind && kl < sizeof known)
            kl += (size_t)snprintf(known + kl, sizeof known - kl, "%s%s", kl ? ", " : "", e->desc->name);
    }
    for (int i = 0; i < reg->n_dirs && dl < sizeof dirs; i++)
        dl += (size_t)snprintf(dirs + dl, sizeof dirs - dl, "%s%s", dl ? ", " : "", reg->dirs[i]);
    /* A file that could not be loaded may be the plugin asked for (built for another ABI, an undefined symbol):
     * named, with why, rather than leaving "not found" to point the author elsewhere. The file whose name is the
     * plugin's comes first. */
    int n_bad = 0;
    const lpz_plugin_entry *likely = NULL, *first = NULL, *other = NULL;
    for (int i = 0; i < reg->n_entries; i++) {
        const lpz_plugin_entry *e = &reg->entries[i];
        if (e->desc && !other && e->shadowed_by < 0 && name_matches(e->desc, name))
            other = e; /* of another kind: the name went to the wrong key */
        if (e->desc)
            continue;
        n_bad++;
        first = first ? first : e;
        const char *base = strrchr(e->path, '/');
        base = base ? base + 1 : e->path;
        if (!strncmp(base, "lib", 3) && strncmp(name, "lib", 3))
            base += 3;
        size_t len = strlen(name);
        if (!likely && !strncmp(base, name, len) && !strcmp(base + len, ".so"))
            likely = e;
    }
    if (other) {
        lpz_error_set(err, LPZ_ENOTFOUND, "'%s' is a %s plugin, not a %s plugin", name,
                      lpz_plugin_kind_name(other->desc->kind), lpz_plugin_kind_name(kind));
        lpz_error_hint(err, "%s plugins found: %s (a dataloader is named by dataloader.dataset_name, a network by "
                       "network.name)", lpz_plugin_kind_name(kind), kl ? known : "none");
        return LPZ_ENOTFOUND;
    }
    if (likely) {
        lpz_error_set(err, LPZ_ENOTFOUND, "no usable %s plugin named '%s': %s is not usable: %s",
                      lpz_plugin_kind_name(kind), name, likely->path, likely->problem);
        lpz_error_hint(err, "%s'lpz plugins' lists every file found and why one is not usable",
                       strstr(likely->problem, "rebuild") || strstr(likely->problem, "copy or build it again")
                           ? ""
                           : "rebuild the plugin against this lpz's SDK (docs/sdk.md); ");
        return LPZ_ENOTFOUND;
    }
    char bad[1024] = "";
    if (n_bad)
        snprintf(bad, sizeof bad, "; %d file%s there could not be loaded, %s%s: %s", n_bad, n_bad == 1 ? "" : "s",
                 n_bad == 1 ? "" : "the first ", first->path, first->problem);
    lpz_error_set(err, LPZ_ENOTFOUND, "no %s plugin named '%s' (searched %s; %s plugins found: %s%s)",
                  lpz_plugin_kind_name(kind), name, dl ? dirs : "no folders", lpz_plugin_kind_name(kind),
                  kl ? known : "none", bad);
    lpz_error_hint(err, "check the name, or add the plugin's folder with --plugin-dir or LPZ_PLUGIN_PATH; "
                        "'lpz plugins' lists what is found%s", n_bad ? " and why a file is not usable" : "");
    return LPZ_ENOTFOUND;
}

const lpz_plugin_entry *lpz_registry_entry_of(const lpz_registry *reg, const lpz_plugin *desc)
{
    for (int i = 0; i < reg->n_entries; i++)
        if (reg->entries[i].desc == desc)
            return &reg->entries[i];
    return NULL;
}

void lpz_registry_close(lpz_registry *reg)
{
    for (int i = 0; i < reg->n_entries; i++) {
        if (reg->entries[i].handle)
            dlclose(reg->entries[i].handle);
        free(reg->entries[i].path);
    }
    for (int i = 0; i < reg->n_dirs; i++)
        free(reg->dirs[i]);
    free(reg->entries);
    free(reg->dirs);
    memset(reg, 0, sizeof *reg);
}
