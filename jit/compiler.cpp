#include "jit/compiler.hpp"
#include "jit/merge_byte_compares.hpp"
#include "runtime/map.hpp"

#include "runtime/helpers.hpp"

#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>

#include <bit>
#include <chrono>
#include <cstring>

namespace bpfvet::jit {
namespace {

using runtime::Control;
using runtime::Fault;
using runtime::FaultKind;
using runtime::RunContext;

// LLVM's target registry is filled once per process; it is not program state.
void initialize_llvm() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
    });
}

std::string message_of(llvm::Error error) { return llvm::toString(std::move(error)); }

double milliseconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

llvm::OptimizationLevel pipeline_level(unsigned level) {
    switch (level) {
    case 0: return llvm::OptimizationLevel::O0;
    case 1: return llvm::OptimizationLevel::O1;
    case 2: return llvm::OptimizationLevel::O2;
    default: return llvm::OptimizationLevel::O3;
    }
}

// The new pass manager's default module pipeline at `level`, with the target's
// cost model when a target machine is given.
void optimize(llvm::Module& module, llvm::TargetMachine* machine, unsigned level) {
    llvm::LoopAnalysisManager loops;
    llvm::FunctionAnalysisManager functions;
    llvm::CGSCCAnalysisManager cgscc;
    llvm::ModuleAnalysisManager modules;
    llvm::PassBuilder builder(machine);
    builder.registerModuleAnalyses(modules);
    builder.registerCGSCCAnalyses(cgscc);
    builder.registerFunctionAnalyses(functions);
    builder.registerLoopAnalyses(loops);
    builder.crossRegisterProxies(loops, functions, cgscc, modules);
    // After each instcombine: byte compares merge once simplifycfg has turned
    // the compiler's branches into selects, and later passes clean up.
    builder.registerPeepholeEPCallback(
        [](llvm::FunctionPassManager& passes, llvm::OptimizationLevel) { passes.addPass(MergeByteComparesPass()); });
    llvm::ModulePassManager pipeline = level == 0 ? builder.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
                                                  : builder.buildPerModuleDefaultPipeline(pipeline_level(level));
    pipeline.run(module, modules);
}

void set_fault(RunContext& context, FaultKind kind, uint64_t pc, std::string message) {
    Fault fault;
    fault.kind = kind;
    fault.pc = size_t(pc);
    fault.message = std::move(message);
    context.fault = std::move(fault);
}

// A target machine for objects: the host's triple with a generic CPU, so the
// object runs on any machine of the architecture; position-independent.
std::expected<std::unique_ptr<llvm::TargetMachine>, std::string> object_target_machine() {
    initialize_llvm();
    std::string triple = llvm::sys::getDefaultTargetTriple();
    std::string error;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, error);
    if (!target) return std::unexpected("no LLVM target for " + triple + ": " + error);
    llvm::TargetOptions options;
    std::unique_ptr<llvm::TargetMachine> machine(
        target->createTargetMachine(triple, "generic", "", options, llvm::Reloc::PIC_, std::nullopt,
                                    llvm::CodeGenOptLevel::Aggressive));
    if (!machine) return std::unexpected("cannot create a target machine for " + triple);
    return machine;
}

}  // namespace

// ---------------------------------------------------------------- support

extern "C" uint64_t bpfvet_jit_tail_call(RunContext* context, uint64_t r1) {
    context->control = Control::Continue;
    auto* state = static_cast<JitRunState*>(context->engine_state);
    const runtime::LoadedProgram* target = context->tail_call_target;
    if (!state || !state->compiler || !target) {
        set_fault(*context, FaultKind::InvalidInstruction, 0, "tail call outside a JIT run");
        return 0;
    }
    auto entry = state->compiler->compile(*target);
    if (!entry) {
        set_fault(*context, FaultKind::InvalidInstruction, 0, "tail call target does not compile: " + entry.error());
        context->fault->section = target->section;
        return 0;
    }
    return (*entry)(r1, 0, context);
}

extern "C" uint64_t bpfvet_jit_map_lookup(runtime::Map* map, uint64_t key, RunContext* context) {
    return reinterpret_cast<uint64_t>(map->lookup(reinterpret_cast<const void*>(key), context->cpu));
}

extern "C" uint64_t bpfvet_jit_callx(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* context,
                                     const runtime::LoadedProgram* program, uint64_t id, uint64_t pc) {
    const runtime::HelperDefinition* definition =
        program && program->helper_table ? program->helper_table->find(int32_t(id)) : nullptr;
    if (!definition) {
        set_fault(*context, FaultKind::UnknownHelper, pc, fmt::format("callx to helper {}", int64_t(id)));
        if (program) context->fault->section = program->section;
        return 0;
    }
    return definition->function(r1, r2, r3, r4, r5, context);
}

// LD_ABS / LD_IND: r0 = the big-endian value at data + offset; out of bounds
// the program ends with r0 = 0 (as the interpreter does).
extern "C" uint64_t bpfvet_jit_legacy_load(RunContext* context, uint64_t offset, uint64_t width) {
    const runtime::PacketState& packet = context->packet;
    uint64_t length = packet.data ? uint64_t(packet.data_end - packet.data) : 0;
    if (width == 8 || offset > length || width > length - offset) {
        context->control = Control::Stop;
        context->stop_value = 0;
        return 0;
    }
    const uint8_t* at = packet.data + offset;
    if (width == 1) return at[0];
    if (width == 2) return uint64_t(at[0]) << 8 | at[1];
    return uint64_t(at[0]) << 24 | uint64_t(at[1]) << 16 | uint64_t(at[2]) << 8 | at[3];
}

extern "C" uint64_t bpfvet_jit_fell_off(RunContext* context, uint64_t pc) {
    set_fault(*context, FaultKind::InvalidInstruction, pc, "fell off the end of the program");
    return 0;
}

extern "C" uint8_t bpfvet_jit_fault_pending(RunContext* context) { return context->fault.has_value(); }

// Counting code (LoweringOptions::count_back_edges) ran out of its budget.
extern "C" uint64_t bpfvet_jit_out_of_budget(RunContext* context, uint64_t pc, uint64_t kind) {
    if (FaultKind(kind) == FaultKind::CallDepthExceeded)
        set_fault(*context, FaultKind::CallDepthExceeded, pc,
                  fmt::format("more than {} nested calls", runtime::MaxCallFrames));
    else
        set_fault(*context, FaultKind::BudgetExhausted, pc, "the instruction budget is spent (a loop without end?)");
    return 0;
}

uint64_t invoke_jit_callback(RunContext& context, uint64_t function, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                             uint64_t r5) {
    using Callback = uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*);
    return reinterpret_cast<Callback>(function)(r1, r2, r3, r4, r5, &context);
}

// ---------------------------------------------------------------- JitCompiler

JitCompiler::JitCompiler(JitOptions options) : options_(options) {}
JitCompiler::~JitCompiler() = default;

std::expected<std::unique_ptr<JitCompiler>, std::string> JitCompiler::create(JitOptions options) {
    initialize_llvm();
    auto machine_builder = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!machine_builder) return std::unexpected(message_of(machine_builder.takeError()));
    machine_builder->setCodeGenOptLevel(options.optimization_level >= 2 ? llvm::CodeGenOptLevel::Aggressive
                                                                         : llvm::CodeGenOptLevel::Default);
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*machine_builder).create();
    if (!jit) return std::unexpected(message_of(jit.takeError()));

    struct SupportSymbol {
        const char* name;
        void* address;
    };
    const SupportSymbol support[] = {
        {TailCallSymbol, reinterpret_cast<void*>(&bpfvet_jit_tail_call)},
        {CallxSymbol, reinterpret_cast<void*>(&bpfvet_jit_callx)},
        {LegacyLoadSymbol, reinterpret_cast<void*>(&bpfvet_jit_legacy_load)},
        {FallOffSymbol, reinterpret_cast<void*>(&bpfvet_jit_fell_off)},
        {"bpfvet_jit_fault_pending", reinterpret_cast<void*>(&bpfvet_jit_fault_pending)},
        {BudgetSymbol, reinterpret_cast<void*>(&bpfvet_jit_out_of_budget)},
    };
    llvm::orc::SymbolMap symbols;
    for (const auto& symbol : support)
        symbols[(*jit)->mangleAndIntern(symbol.name)] = llvm::orc::ExecutorSymbolDef(
            llvm::orc::ExecutorAddr::fromPtr(symbol.address), llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
    if (auto error = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
        return std::unexpected(message_of(std::move(error)));

    std::unique_ptr<JitCompiler> compiler(new JitCompiler(options));
    compiler->jit_ = std::move(*jit);
    return compiler;
}

std::expected<EntryFunction, std::string> JitCompiler::compile(const runtime::LoadedProgram& program,
                                                               const ProgramFacts* facts) {
    std::lock_guard guard(lock_);
    if (auto found = cache_.find(&program); found != cache_.end()) {
        // The same object at the same address with the same code and links: reuse.
        if (found->second.instructions == program.instructions && found->second.resolved == program.resolved)
            return found->second.entry;
        cache_.erase(found);
    }
    Compiled compiled;
    auto start = std::chrono::steady_clock::now();
    auto context = std::make_unique<llvm::LLVMContext>();
    LoweringOptions lowering;
    lowering.entry_name = fmt::format("bpfvet_entry_{}", compiles_);
    lowering.facts = facts;
    lowering.count_back_edges = facts == nullptr;  // facts come only from an accepted analysis
    auto module = lower_program(program, *context, lowering);
    if (!module) return std::unexpected(module.error());
    (*module)->setDataLayout(jit_->getDataLayout());
    (*module)->setTargetTriple(jit_->getTargetTriple().str());
    compiled.statistics.lower_ms = milliseconds_since(start);

    start = std::chrono::steady_clock::now();
    auto machine_builder = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!machine_builder) return std::unexpected(message_of(machine_builder.takeError()));
    auto machine = machine_builder->createTargetMachine();
    if (!machine) return std::unexpected(message_of(machine.takeError()));
    optimize(**module, machine->get(), options_.optimization_level);
    compiled.statistics.optimize_ms = milliseconds_since(start);

    start = std::chrono::steady_clock::now();
    if (auto error = jit_->addIRModule(llvm::orc::ThreadSafeModule(std::move(*module), std::move(context))))
        return std::unexpected(message_of(std::move(error)));
    auto address = jit_->lookup(lowering.entry_name);
    if (!address) return std::unexpected(message_of(address.takeError()));
    compiled.statistics.codegen_ms = milliseconds_since(start);
    ++compiles_;

    compiled.entry = address->toPtr<EntryFunction>();
    compiled.instructions = program.instructions;
    compiled.resolved = program.resolved;
    EntryFunction entry = compiled.entry;
    cache_[&program] = std::move(compiled);
    return entry;
}

CompileStatistics JitCompiler::statistics(const runtime::LoadedProgram& program) const {
    std::lock_guard guard(lock_);
    auto found = cache_.find(&program);
    return found == cache_.end() ? CompileStatistics{} : found->second.statistics;
}

size_t JitCompiler::compiles() const {
    std::lock_guard guard(lock_);
    return compiles_;
}

// ---------------------------------------------------------------- text and objects

std::expected<std::string, std::string>
lowered_ir_text(const runtime::LoadedProgram& program, const LoweringOptions& lowering, unsigned optimization_level) {
    llvm::LLVMContext context;
    auto module = lower_program(program, context, lowering);
    if (!module) return std::unexpected(module.error());
    if (optimization_level > 0) {
        auto machine = object_target_machine();
        if (!machine) return std::unexpected(machine.error());
        (*module)->setDataLayout((*machine)->createDataLayout());
        (*module)->setTargetTriple((*machine)->getTargetTriple().str());
        optimize(**module, machine->get(), optimization_level);
    }
    std::string text;
    llvm::raw_string_ostream stream(text);
    (*module)->print(stream, nullptr);
    return text;
}

std::expected<std::vector<char>, std::string>
compile_object(const runtime::LoadedProgram& program, const LoweringOptions& lowering, unsigned optimization_level) {
    auto machine = object_target_machine();
    if (!machine) return std::unexpected(machine.error());
    llvm::LLVMContext context;
    auto module = lower_program(program, context, lowering);
    if (!module) return std::unexpected(module.error());
    (*module)->setDataLayout((*machine)->createDataLayout());
    (*module)->setTargetTriple((*machine)->getTargetTriple().str());
    optimize(**module, machine->get(), optimization_level);
    llvm::SmallVector<char, 0> buffer;
    llvm::raw_svector_ostream stream(buffer);
    llvm::legacy::PassManager passes;
    if ((*machine)->addPassesToEmitFile(passes, stream, nullptr, llvm::CodeGenFileType::ObjectFile))
        return std::unexpected(std::string("the target cannot emit object files"));
    passes.run(**module);
    return std::vector<char>(buffer.begin(), buffer.end());
}

}  // namespace bpfvet::jit
