//! The HTML5 tree builder, run only as far as the title needs.
//!
//! `select` parses a whole document; most pages close their `title` in the
//! first kilobyte. This module drives html5ever's tokenizer and tree builder by
//! hand over an `RcDom`, watches which elements the builder pops off its stack,
//! and stops as soon as the answer can no longer change. The (partial) tree then
//! goes to `select`, laid out as `select::Document::from` would build it. Only
//! what the title needs is kept: every element (without attributes), comments,
//! and the text of `title` elements; the tree builder never reads the rest back.
//!
//! Stopping is exact, not a heuristic. It happens when an HTML `title` element
//! that is in the document (not in a `<template>`'s content) is popped off the
//! stack of open elements, and either
//! - it is a child of `head` (nearly every page), or
//! - no `table`, `tbody`, `thead`, `tfoot` or `tr` element has been created so
//!   far and the text has no `<frameset` tag anywhere.
//!
//! Why the answer cannot change after that point:
//! - Its text cannot change: text goes to the current node, or (foster
//!   parenting) before a table, and the title is no longer open.
//! - No earlier title can appear: nodes are appended at the end of the current
//!   node, so a later title comes later in tree order. Only foster parenting
//!   inserts before a node: before a `table` open around the title, which the
//!   rule excludes (a table created later is itself after the title). Nothing is
//!   ever inserted before `head`. The adoption agency moves the open elements
//!   below a formatting element, which form the end of the tree in tree order,
//!   to the end of their common ancestor: tree order is kept.
//! - It cannot leave the tree: only the adoption agency (which keeps it, as
//!   above) and `<frameset>` (which removes `body`) take nodes out of their
//!   parent.
//!
//! Otherwise the whole document is parsed, as `select` would.

use std::rc::{Rc, Weak};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerResult,
};
use html5ever::tree_builder::{
    ElementFlags, NextParserState, NodeOrText, QuirksMode, TreeBuilder, TreeSink,
};
use html5ever::{Attribute, ExpandedName, LocalName, QualName, local_name, namespace_url, ns};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use select::document::Document;
use select::node::{Data, Raw};

/// Input is fed to the tokenizer in pieces of this many bytes (at most), so
/// that a page whose title comes early is never copied whole.
const FIRST_PIECE: usize = 4 * 1024;

/// Pieces grow to this size while no title has been found.
const LARGEST_PIECE: usize = 64 * 1024;

/// Parses `html` with the HTML5 tree builder until its title is known, and
/// returns the tree built so far, up to the first title, as a `select`
/// document: elements without attributes, comments, and titles' text.
///
/// The document's first HTML `title` element is the same one, with the same
/// text, as in the document `select` builds from the whole text.
pub fn parse_until_title(html: &str) -> Document {
    let builder = TreeBuilder::new(TitleWatch::default(), Default::default());
    let mut tokenizer = Tokenizer::new(StopAfterTitle(builder), Default::default());
    let mut input = BufferQueue::new();
    let mut rest = html;
    let mut piece = FIRST_PIECE;
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(char_boundary_at_most(rest, piece));
        rest = tail;
        piece = (piece * 2).min(LARGEST_PIECE);
        input.push_back(StrTendril::from_slice(head));
        while let TokenizerResult::Script(_) = tokenizer.feed(&mut input) {
            let watch = &mut tokenizer.sink.0.sink;
            match watch.state {
                Watch::Found => return to_select(&watch.dom),
                Watch::FoundOutsideHead if !has_start_tag(html, b"frameset") => {
                    return to_select(&watch.dom);
                }
                Watch::FoundOutsideHead => watch.state = Watch::ParseAll,
                Watch::Looking | Watch::ParseAll => {}
            }
        }
    }
    tokenizer.end();
    to_select(&tokenizer.sink.0.sink.dom)
}

/// Whether `html` contains a `<title` start tag (ASCII case-insensitive):
/// without one the tree builder never creates a `title` element.
pub fn may_have_title(html: &str) -> bool {
    has_start_tag(html, b"title")
}

/// Whether `html` contains `<` followed by `name` (lowercase ASCII), in any
/// ASCII case: the tokenizer makes a `name` start tag from nothing else.
fn has_start_tag(html: &str, name: &[u8]) -> bool {
    let bytes = html.as_bytes();
    memchr::memchr_iter(b'<', bytes).any(|at| {
        bytes
            .get(at + 1..at + 1 + name.len())
            .is_some_and(|found| found.eq_ignore_ascii_case(name))
    })
}

/// The largest index `<= at` that is a char boundary of `text` (and not 0
/// unless `text` is shorter than a char).
fn char_boundary_at_most(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (1..=at)
        .rev()
        .find(|&index| text.is_char_boundary(index))
        .unwrap_or(text.len())
}

/// The tree builder, made to suspend the tokenizer once the title is done.
struct StopAfterTitle(TreeBuilder<Handle, TitleWatch>);

impl StopAfterTitle {
    /// Whether the driver must look before parsing on.
    fn must_stop(&self) -> bool {
        matches!(self.0.sink.state, Watch::Found | Watch::FoundOutsideHead)
    }
}

impl TokenSink for StopAfterTitle {
    type Handle = Handle;

    fn process_token(&mut self, token: Token, line_number: u64) -> TokenSinkResult<Handle> {
        let is_tag = matches!(token, TagToken(_));
        let result = self.0.process_token(token, line_number);
        // The tokenizer can suspend only after a tag (as it does for scripts);
        // a title ends with its end tag, so that is where it is found done.
        if is_tag && self.must_stop() && matches!(result, TokenSinkResult::Continue) {
            return TokenSinkResult::Script(self.0.sink.dom.document.clone());
        }
        result
    }

    fn end(&mut self) {
        self.0.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.0
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

/// How far the watch on the title has got.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// No title is complete yet.
    #[default]
    Looking,
    /// The head's title is complete: stop.
    Found,
    /// A title outside `head` is complete and no table came before it: stop
    /// unless a `<frameset>` could still remove it.
    FoundOutsideHead,
    /// The answer can change until the end: parse everything.
    ParseAll,
}

/// An `RcDom` that notices when the document's title is complete.
#[derive(Default)]
struct TitleWatch {
    dom: RcDom,
    state: Watch,
    /// Whether an element that foster parenting inserts before was created.
    table_seen: bool,
}

impl TitleWatch {
    /// What the completion of `title` (just popped) means for the answer.
    fn title_popped(&self, title: &Handle) -> Watch {
        let ancestors: Vec<Handle> = std::iter::successors(parent_of(title), parent_of).collect();
        match ancestors.as_slice() {
            // In a template's content (or detached): not part of the document.
            [.., top] if !Rc::ptr_eq(top, &self.dom.document) => Watch::Looking,
            [] => Watch::Looking,
            [head, root, _document]
                if is_html_element(head, local_name!("head"))
                    && is_html_element(root, local_name!("html")) =>
            {
                Watch::Found
            }
            _ if self.table_seen => Watch::ParseAll,
            _ => Watch::FoundOutsideHead,
        }
    }
}

/// The parent of `node`, if it has one.
fn parent_of(node: &Handle) -> Option<Handle> {
    let weak = node.parent.take();
    let parent = weak.as_ref().and_then(Weak::upgrade);
    node.parent.set(weak);
    parent
}

impl TreeSink for TitleWatch {
    type Handle = Handle;
    type Output = RcDom;

    fn finish(self) -> RcDom {
        self.dom
    }

    fn parse_error(&mut self, _message: std::borrow::Cow<'static, str>) {}

    fn get_document(&mut self) -> Handle {
        self.dom.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> ExpandedName<'a> {
        self.dom.elem_name(target)
    }

    fn create_element(
        &mut self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Handle {
        if name.ns == ns!(html)
            && matches!(
                name.local,
                local_name!("table")
                    | local_name!("tbody")
                    | local_name!("thead")
                    | local_name!("tfoot")
                    | local_name!("tr")
            )
        {
            self.table_seen = true;
        }
        // The tree builder never reads attributes back; the title has none
        // that matter. Dropping them keeps a whole-document parse small.
        drop(attrs);
        self.dom.create_element(name, Vec::new(), flags)
    }

    fn create_comment(&mut self, text: StrTendril) -> Handle {
        self.dom.create_comment(text)
    }

    fn create_pi(&mut self, target: StrTendril, data: StrTendril) -> Handle {
        self.dom.create_pi(target, data)
    }

    fn append(&mut self, parent: &Handle, child: NodeOrText<Handle>) {
        // Only a title's text is kept (the tree builder never reads text back).
        if matches!(child, NodeOrText::AppendNode(_)) || is_html_title(parent) {
            self.dom.append(parent, child);
        }
    }

    fn append_based_on_parent_node(
        &mut self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        self.dom
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &mut self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.dom
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&mut self, node: &Handle) {
        self.dom.mark_script_already_started(node);
    }

    fn pop(&mut self, node: &Handle) {
        if self.state == Watch::Looking && is_html_title(node) {
            self.state = self.title_popped(node);
        }
    }

    fn get_template_contents(&mut self, target: &Handle) -> Handle {
        self.dom.get_template_contents(target)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        self.dom.same_node(x, y)
    }

    fn set_quirks_mode(&mut self, mode: QuirksMode) {
        self.dom.set_quirks_mode(mode);
    }

    fn append_before_sibling(&mut self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        // Foster parenting: text here is never a title's.
        if matches!(new_node, NodeOrText::AppendNode(_)) {
            self.dom.append_before_sibling(sibling, new_node);
        }
    }

    fn add_attrs_if_missing(&mut self, _target: &Handle, _attrs: Vec<Attribute>) {}

    fn associate_with_form(
        &mut self,
        target: &Handle,
        form: &Handle,
        nodes: (&Handle, Option<&Handle>),
    ) {
        self.dom.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&mut self, target: &Handle) {
        self.dom.remove_from_parent(target);
    }

    fn reparent_children(&mut self, node: &Handle, new_parent: &Handle) {
        self.dom.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.dom.is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&mut self, line_number: u64) {
        self.dom.set_current_line(line_number);
    }

    fn complete_script(&mut self, node: &Handle) -> NextParserState {
        self.dom.complete_script(node)
    }
}

/// Whether `node` is a `title` element in the HTML namespace.
fn is_html_title(node: &Handle) -> bool {
    is_html_element(node, local_name!("title"))
}

/// Whether `node` is the HTML element named `local`.
fn is_html_element(node: &Handle, local: LocalName) -> bool {
    matches!(&node.data, NodeData::Element { name, .. }
        if name.ns == ns!(html) && name.local == local)
}

/// The tree under `dom` as a `select` document, in tree order up to and
/// including the first HTML `title` element and its children (the whole tree
/// when there is none): the nodes `select` keeps (elements, text, comments;
/// not the doctype, processing instructions or template contents), laid out
/// as `select::Document::from` does.
fn to_select(dom: &RcDom) -> Document {
    let mut nodes = Vec::new();
    let mut prev = None;
    for child in dom.document.children.borrow().iter() {
        match copy_node(&mut nodes, child, None, prev) {
            Copied::Skipped => {}
            Copied::Node(index) => prev = Some(index),
            Copied::UpToTitle => break,
        }
    }
    Document { nodes }
}

/// What [`copy_node`] did.
enum Copied {
    /// A node `select` does not keep.
    Skipped,
    /// The node and its subtree, at this index.
    Node(usize),
    /// Everything up to the end of the first title: the copy stops.
    UpToTitle,
}

/// Appends `node` and its subtree to `nodes`, stopping after the first title.
fn copy_node(
    nodes: &mut Vec<Raw>,
    node: &Handle,
    parent: Option<usize>,
    prev: Option<usize>,
) -> Copied {
    let data = match &node.data {
        NodeData::Text { contents } => Data::Text(contents.borrow().clone()),
        NodeData::Comment { contents } => Data::Comment(contents.clone()),
        NodeData::Element { name, attrs, .. } => Data::Element(
            name.clone(),
            attrs
                .borrow()
                .iter()
                .map(|attr| (attr.name.clone(), attr.value.clone()))
                .collect(),
        ),
        _ => return Copied::Skipped,
    };
    let index = nodes.len();
    nodes.push(Raw {
        index,
        parent,
        prev,
        next: None,
        first_child: None,
        last_child: None,
        data,
    });
    if let Some(parent) = parent {
        let parent = &mut nodes[parent];
        parent.first_child.get_or_insert(index);
        parent.last_child = Some(index);
    }
    if let Some(prev) = prev {
        nodes[prev].next = Some(index);
    }
    let mut child_prev = None;
    for child in node.children.borrow().iter() {
        match copy_node(nodes, child, Some(index), child_prev) {
            Copied::Skipped => {}
            Copied::Node(child) => child_prev = Some(child),
            Copied::UpToTitle => return Copied::UpToTitle,
        }
    }
    if is_html_title(node) {
        Copied::UpToTitle
    } else {
        Copied::Node(index)
    }
}
